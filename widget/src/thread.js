// One conversation's messages on screen, shared by the chat page and the inbox.
//
// A message may reach us several times: live, again in `history` after a reconnect or to fill a
// gap, and as the ack of our own send. It is shown once: keyed by the server's `seq`, and our own
// unsent messages by their `client_id` until the server gives them a `seq`. Seqs run gapless
// from 1, so `contiguous` (every seq up to it is here) below `lastSeq` means one went missing.
// Every text goes in through textContent, so HTML in a message is shown as the characters it is
// and never runs.

export function h (tag, cls, text) {
  const $el = document.createElement(tag)
  if (cls) $el.className = cls
  if (text != null) $el.textContent = text
  return $el
}

// options: own (the author whose messages are ours), who(author, message) → screen-reader prefix,
// text(message) → shown text (system messages carry a code), status(state) → '送信中…' etc.,
// and optionally stamp(iso) → the element that shows a message's time (else the local clock),
// byline(message) → who wrote it, shown before the time (staff only: the visitor's page passes
// none and so shows no name), and colleague(message) → true for a line of our side written by
// someone else (a counselor who held the chat before).
export function createThread (options) {
  const $log = h('div', 'mg-log')
  const bySeq = new Map()
  const pending = new Map()
  let lastSeq = 0
  let contiguous = 0

  function time (iso) {
    const date = new Date(iso)
    return isNaN(date) ? '' : date.toLocaleTimeString(options.locale, { hour: '2-digit', minute: '2-digit' })
  }

  function render (author, body, message) {
    const mine = author === options.own
    const $msg = h('div', `mg-msg mg-msg--${author === 'system' ? 'system' : mine ? 'mine' : 'theirs'}`)
    if (message && options.colleague && options.colleague(message)) $msg.classList.add('mg-msg--colleague')
    if (author !== 'system') $msg.appendChild(h('span', 'mg-sr', options.who(author, message)))
    $msg.appendChild(h('p', 'mg-body', body))
    $msg.appendChild(h('p', 'mg-meta'))
    return $msg
  }

  function setMeta ($msg, text, failed) {
    $msg.lastChild.textContent = text
    $msg.classList.toggle('mg-msg--failed', Boolean(failed))
  }

  // Sent messages in seq order; our unsent ones stay below them, in the order typed.
  function place ($msg, seq) {
    let $before = null
    for (let $c = $log.lastElementChild; $c; $c = $c.previousElementSibling) {
      if ($c.dataset.seq && Number($c.dataset.seq) < seq) break
      $before = $c
    }
    $log.insertBefore($msg, $before)
  }

  return {
    $log,
    get lastSeq () { return lastSeq },
    get contiguous () { return contiguous },

    // Returns true when the message is new on screen.
    add (message) {
      if (bySeq.has(message.seq)) return false
      let $msg = message.client_id && pending.get(message.client_id)
      if ($msg) {
        pending.delete(message.client_id)
        $msg.remove()
      } else {
        const body = message.author === 'system' ? options.text(message.body) : message.body
        $msg = render(message.author, body, message)
      }
      $msg.dataset.seq = String(message.seq)
      const byline = options.byline ? options.byline(message) : ''
      if (options.stamp) {
        setMeta($msg, '')
        if (byline) $msg.lastChild.append(h('span', 'mg-byline', byline), ' · ')
        $msg.lastChild.appendChild(options.stamp(message.created_at))
      } else {
        setMeta($msg, byline ? `${byline} · ${time(message.created_at)}` : time(message.created_at))
      }
      place($msg, message.seq)
      bySeq.set(message.seq, $msg)
      lastSeq = Math.max(lastSeq, message.seq)
      while (bySeq.has(contiguous + 1)) contiguous += 1
      return true
    },

    addPending (clientId, body) {
      const $msg = render(options.own, body)
      setMeta($msg, options.status('sending'))
      pending.set(clientId, $msg)
      $log.appendChild($msg)
    },

    failed (clientId) {
      const $msg = pending.get(clientId)
      if ($msg) setMeta($msg, options.status('failed'), true)
    },

    clear () {
      $log.textContent = ''
      bySeq.clear()
      pending.clear()
      lastSeq = contiguous = 0
    }
  }
}

// Keeps the newest message in view unless the reader has scrolled up to read older ones.
export function followBottom ($scroller, change) {
  const atBottom = $scroller.scrollHeight - $scroller.scrollTop - $scroller.clientHeight < 48
  change()
  if (atBottom) $scroller.scrollTop = $scroller.scrollHeight
}
