// The counselors' inbox (the live queue, claiming, one conversation at a time with its record)
// and the supervisors' board (every chat of their desks, watched read-only), one script for both
// pages. Same origin as the page, so the HttpOnly session cookie goes with the socket by itself.
import { io } from 'socket.io-client'
import { createCatchUp } from './catchup.js'
import { createAlerts } from './inbox-alerts.js'
import { createAvailability } from './inbox-availability.js'
import { createBoard } from './inbox-board.js'
import { createCanned } from './inbox-canned.js'
import { createCase } from './inbox-case.js'
import { STRINGS } from './inbox-strings.js'
import { createTraining } from './inbox-training.js'
import { timeElement } from './inbox-time.js'
import { createOutbox } from './outbox.js'
import { createThread, followBottom, h } from './thread.js'

const ACK_TIMEOUT_MS = 8000
const TYPING_EVERY_MS = 2000
const TYPING_SHOWN_MS = 4000
const MAX_BODY_CHARS = 2000

const lang = document.body.dataset.lang === 'en' ? 'en' : 'ja'
const T = STRINGS[lang]
const BOARD = document.body.dataset.page === 'board'
const $ = (id) => document.getElementById(id)
const $banner = $('mg-banner')
const $alert = $('mg-alert')
const $queueList = $('mg-queue-list')
const $queueEmpty = $('mg-queue-empty')
const $paneEmpty = $('mg-pane-empty')
const $convo = $('mg-convo')
const $title = $('mg-convo-title')
const $status = $('mg-convo-status')
const $scroll = $('mg-scroll')
const $typing = $('mg-typing')
const $composer = $('mg-composer')
const $text = $('mg-text')
const $close = $('mg-close')
const $outcome = $('mg-outcome')
// Who is signed in, to tell our own lines from a colleague's (a chat handed on keeps both).
const ME = { id: document.body.dataset.user, name: $convo.dataset.me }
const byMe = (message) => message.user_id == null || String(message.user_id) === ME.id
const alerts = createAlerts({ userId: document.body.dataset.user, title: document.body.dataset.title, T })

let queue = []
// Conversations this counselor has seen messages of: id → { id, status, outcome, thread, catchUp,
// unread, watched }.
const conversations = new Map()
let current = null
let lastTypingSent = 0
let typingTimer = 0

function setBanner (text) {
  $banner.textContent = text
  $banner.hidden = !text
}

function conversation (id) {
  let conv = conversations.get(id)
  if (!conv) {
    const thread = createThread({
      own: 'counselor',
      locale: lang,
      who: (author, message) => {
        if (author === 'visitor') return T.visitor
        if (message && message.writer && (BOARD || !byMe(message))) return `${message.writer}${T.sep}`
        return BOARD ? T.counselor : T.me
      },
      byline: (message) => (message.author === 'counselor' && message.writer) || '',
      colleague: (message) => !BOARD && message.author === 'counselor' && !byMe(message),
      text: (code) => T.system[code] || code,
      status: (state) => T[state],
      stamp: (iso) => timeElement(iso, lang)
    })
    thread.$log.setAttribute('role', 'log')
    thread.$log.setAttribute('aria-live', 'polite')
    conv = { id, status: '', outcome: '', thread, unread: false, watched: false }
    // Read whole the first time (nothing in it is news then); later only what was missed, news.
    conv.catchUp = createCatchUp(socket, thread, {
      payload: (after) => ({ conversation_id: id, after_seq: after }),
      apply: (messages, from) => onScreen(conv, () => messages.forEach((message) => receive(message, false, from > 0))),
      done: (ack) => {
        // A transferred conversation goes on without us: history still says it is active.
        if (conv.status !== 'transferred') conv.status = ack.status
        if (id === current) renderConversation()
      }
    })
    conversations.set(id, conv)
  }
  return conv
}

// ---- the queue ----

// What admins named the desks, partners and campaigns: kind → key → name (from the page).
const NAMES = { desk: {}, partner: {}, campaign: {} }
for (const $li of document.querySelectorAll('#mg-name-data li')) {
  if (NAMES[$li.dataset.kind]) NAMES[$li.dataset.kind][$li.dataset.key] = $li.dataset.name
}
const nameOf = (kind, key) => NAMES[kind][key] || key

function sourceText (source) {
  const cut = source.indexOf(':')
  const kind = cut < 0 ? source : source.slice(0, cut)
  const label = T.sources[kind] || kind
  return cut < 0 ? label : `${label}${T.sep}${nameOf(kind, source.slice(cut + 1))}`
}

// The topic tags' labels in the page's language: key → label.
const TOPICS = {}
for (const $li of document.querySelectorAll('#mg-tag-data li')) TOPICS[$li.dataset.key] = $li.dataset.label

function metaText (item) {
  const parts = [nameOf('desk', item.desk), T.langs[item.lang] || item.lang, sourceText(item.source)]
  if (item.topic) parts.push(`${T.topic}${T.sep}${TOPICS[item.topic] || item.topic}`)
  return parts.join(' · ')
}

function waitText (since, until) {
  const end = until ? Date.parse(until) : Date.now()
  const seconds = Math.max(0, Math.floor((end - Date.parse(since)) / 1000))
  return T.wait(Math.floor(seconds / 60), seconds % 60)
}

// Whole minutes waited, as counselors say it ("3分待機").
function waitedText (since) {
  return T.waited(Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 60000)))
}

// A clock that goes on by itself (the interval below); waited: whole minutes, "3分待機".
function timer (label, since, waited = false) {
  const $wait = h('span', 'mg-js-wait', waited ? waitedText(since) : waitText(since))
  $wait.dataset.since = since
  if (waited) $wait.dataset.waited = '1'
  $wait.setAttribute('aria-label', label)
  return $wait
}

// A short word to see, a sentence to hear.
function unreadMark () {
  const $word = h('span', null, T.newMessage)
  $word.setAttribute('aria-hidden', 'true')
  const $mark = h('span', 'mg-q-new')
  $mark.append($word, h('span', 'mg-sr', T.unread))
  return $mark
}

function queueEntry (item) {
  const conv = conversations.get(item.id)
  const $li = h('li', `mg-q mg-q--${item.status}`)
  $li.classList.toggle('mg-q--mine', Boolean(item.mine))
  $li.classList.toggle('mg-q--current', item.id === current)
  const $head = h('p', 'mg-q-head')
  $head.appendChild(h('span', 'mg-q-state', item.status === 'waiting' ? T.waiting : T.active))
  // A practice chat (staff playing the visitor, for training): never mistaken for a real one.
  if (item.practice) $head.appendChild(h('span', 'mg-practice-badge', T.practice))
  $li.classList.toggle('mg-q--practice', Boolean(item.practice))
  if (item.urgent || item.risk === 'urgent') $head.appendChild(h('span', 'mg-q-urgent', T.urgent))
  else if (item.risk === 'concern') $head.appendChild(h('span', 'mg-q-concern', T.risks.concern))
  if (item.status === 'waiting') {
    $head.appendChild(timer(T.waitedLabel, item.waiting_since, true))
  } else if (BOARD && item.claimed_at) {
    $head.appendChild(h('span', 'mg-q-wait', `${T.waitLabel} ${waitText(item.waiting_since, item.claimed_at)}`))
    $head.appendChild(h('span', null, T.durationLabel))
    $head.appendChild(timer(T.durationLabel, item.claimed_at))
  }
  if (conv && conv.unread) $head.appendChild(unreadMark())
  if (item.present === false) {
    const $gone = h('span', 'mg-q-gone', T.gone)
    $gone.title = T.goneLong
    $gone.appendChild(h('span', 'mg-sr', `（${T.goneLong}）`))
    $head.appendChild($gone)
  }
  $li.classList.toggle('mg-q--gone', item.present === false)
  $li.append($head, h('p', 'mg-q-meta', metaText(item)))
  // The visitor's first words, as text (never HTML), for those who work the desk.
  if (item.preview) {
    const $preview = h('p', 'mg-q-preview')
    $preview.append(h('span', 'mg-sr', `${T.preview}${T.sep}`), h('span', null, `「${item.preview}」`))
    $li.appendChild($preview)
  }
  if (item.status === 'active') $li.appendChild(h('p', 'mg-q-who', item.mine ? T.mine : T.heldBy(item.counselor || '')))
  let $button = null
  if (BOARD) {
    $button = h('button', 'mg-secondary', T.monitor)
    $button.addEventListener('click', () => openConversation(item.id))
  } else if (item.status === 'waiting') {
    $button = h('button', 'mg-primary', T.claim)
    $button.addEventListener('click', () => claim(item.id))
  } else if (item.mine) {
    $button = h('button', 'mg-secondary', T.open)
    $button.addEventListener('click', () => openConversation(item.id))
  }
  if ($button) {
    $button.type = 'button'
    $button.dataset.key = `${item.id}:${item.status}`
    $li.appendChild($button)
  }
  return $li
}

function renderQueue () {
  // Keep the keyboard where it was across a redraw.
  const focusedKey = document.activeElement && $queueList.contains(document.activeElement)
    ? document.activeElement.dataset.key
    : null
  // Waiting visitors first (the server's order: urgent, then longest waiting), then active ones.
  const ordered = queue.filter((item) => item.status === 'waiting')
    .concat(queue.filter((item) => item.status !== 'waiting' && item.mine))
    .concat(queue.filter((item) => item.status !== 'waiting' && !item.mine))
  $queueList.replaceChildren(...ordered.map(queueEntry))
  $queueEmpty.hidden = ordered.length > 0
  const unread = Array.from(conversations.values()).filter((c) => c.unread).length
  alerts.setCount(BOARD ? 0 : queue.filter((item) => item.status === 'waiting').length + unread)
  if (focusedKey) {
    const $again = Array.from($queueList.querySelectorAll('button')).find(($b) => $b.dataset.key === focusedKey)
    if ($again) $again.focus()
  }
}

setInterval(() => {
  for (const $wait of $queueList.querySelectorAll('.mg-js-wait')) {
    $wait.textContent = $wait.dataset.waited ? waitedText($wait.dataset.since) : waitText($wait.dataset.since)
  }
}, 1000)

// ---- one conversation ----

function going (conv) {
  return conv.status !== 'closed' && conv.status !== 'transferred'
}

function outcomeLabel (value) {
  const $item = Array.from(document.querySelectorAll('#mg-outcome-data li')).find(($li) => $li.dataset.value === value)
  return $item ? $item.dataset.label : value
}

function renderConversation () {
  const conv = conversations.get(current)
  if (!conv) return
  const item = queue.find((entry) => entry.id === current)
  if (item) $title.textContent = T.title(metaText(item))
  if (item && item.practice) $title.prepend(h('span', 'mg-practice-badge', T.practice), ' ')
  if (item && item.practice && training.note(current)) $title.append(' ', h('span', 'mg-training-note', training.note(current)))
  if (conv.status === 'closed') $status.textContent = T.statusClosed(outcomeLabel(conv.outcome))
  else if (conv.status === 'transferred') $status.textContent = T.statusTransferred
  else if (BOARD) $status.textContent = T.statusWatching(item && item.counselor)
  else $status.textContent = conv.status === 'waiting' ? T.statusWaiting : conv.status === 'active' ? T.statusActive : ''
  const canWrite = conv.status === 'active' && !BOARD
  if ($composer) {
    $composer.hidden = !canWrite
    $close.hidden = !canWrite
  }
  if (!canWrite) $typing.hidden = BOARD ? $typing.hidden : true
}

function showCase (conv) {
  const item = queue.find((entry) => entry.id === conv.id)
  const open = conv.status === 'active' || conv.status === 'waiting'
  if (BOARD) {
    caseView.show(conv.id, { work: true, whisper: conv.status === 'active' && Boolean(item && item.counselor) && !item.mine, open })
  } else {
    caseView.show(conv.id, { work: conv.status !== 'transferred', whisper: false, open: conv.status === 'active' })
  }
}

function openConversation (id) {
  const conv = conversation(id)
  if (BOARD && current && current !== id) {
    socket.emit('unmonitor', { conversation_id: current })
    conversations.get(current).watched = false
  }
  current = id
  conv.unread = false
  $paneEmpty.hidden = true
  $convo.hidden = false
  $typing.hidden = true
  $scroll.replaceChildren(conv.thread.$log)
  $scroll.scrollTop = $scroll.scrollHeight
  renderConversation()
  renderQueue()
  if (BOARD) watch(conv)
  else conv.catchUp.run()
  if (!BOARD) showCase(conv)
  if (conv.status === 'active' && !BOARD) $text.focus()
  else $title.focus()
}

// A supervisor joins the conversation's room read-only, then reads it back.
function watch (conv) {
  socket.timeout(ACK_TIMEOUT_MS).emit('monitor', { conversation_id: conv.id }, (err, ack) => {
    if (err || !ack.ok) {
      setBanner(T.failedAction)
      return
    }
    conv.watched = true
    conv.status = ack.conversation.status
    conv.catchUp.run()
    renderConversation()
    if (conv.id === current) showCase(conv)
  })
}

// Changes the thread of conv, keeping the newest message in view if it is the one on screen.
function onScreen (conv, change) {
  if (conv.id === current) followBottom($scroll, change)
  else change()
}

// live: it arrived as it was sent (a sound); fresh: the counselor has not seen it (the mark).
function receive (message, live, fresh = live) {
  const conv = conversation(message.conversation_id)
  if (message.client_id) outbox.settle(message.client_id, message)
  if (!conv.thread.add(message) || message.author !== 'visitor') return
  if (live && !BOARD) alerts.notify('message')
  if (conv.id === current) {
    $typing.hidden = true
  } else if (fresh) {
    conv.unread = true
    renderQueue()
  }
}

function claim (id) {
  socket.timeout(ACK_TIMEOUT_MS).emit('claim', { conversation_id: id }, (err, ack) => {
    if (err) {
      setBanner(T.failedAction)
    } else if (!ack.ok) {
      const code = ack.error.code
      setBanner(code === 'already_claimed' ? T.claimed : code === 'chat_limit' ? T.chatLimit : T.failedAction)
    } else {
      setBanner('')
      conversation(id).status = 'active'
      openConversation(id)
    }
  })
}

// ---- the connection ----

const socket = io('/counselor', { reconnectionDelay: 1000, reconnectionDelayMax: 5000 })
const caseView = createCase({ socket, T, lang, setBanner })
const training = createTraining({ T, onChange: (id) => { if (id === current) renderConversation() } })
if (!BOARD) training.showUnread()
const availability = createAvailability({ socket, T, setBanner })
if (BOARD) createBoard({ socket, T, nameOf })
// Waiting visitors already announced; the first queue after loading announces nobody.
let announced = null

const outbox = createOutbox(socket, {
  payload: (item) => ({ conversation_id: item.conversationId, client_id: item.clientId, body: item.body }),
  ready: () => true,
  onSent: (item, ack) => {
    const conv = conversation(item.conversationId)
    onScreen(conv, () => conv.thread.add({
      conversation_id: conv.id,
      seq: ack.seq,
      created_at: ack.created_at,
      author: 'counselor',
      user_id: Number(ME.id),
      writer: ME.name,
      body: item.body,
      client_id: item.clientId
    }))
    conv.catchUp.check()
  },
  onFailed: (item) => conversation(item.conversationId).thread.failed(item.clientId)
})

socket.on('connect', () => {
  setBanner('')
  // Messages missed while away: in the conversation on screen and in every other one still
  // going (those held but not yet read come with the queue). A supervisor watches again first.
  if (BOARD) {
    if (current) watch(conversations.get(current))
  } else {
    for (const conv of conversations.values()) if (conv.id === current || going(conv)) conv.catchUp.run()
  }
  outbox.flush()
})

socket.on('connect_error', (err) => {
  const code = err && err.data && err.data.code
  if (code === 'unauthorized') location.assign('/inbox/login')
  else setBanner(code ? T.refused : T.offline)
})

socket.on('disconnect', (reason) => {
  setBanner(T.offline)
  if (reason === 'io server disconnect') socket.connect()
})

// The server's order of the queue: urgent first, then longest waiting, then by id.
function queueOrder (a, b) {
  const pressing = (item) => item.urgent || item.risk === 'urgent'
  if (pressing(a) !== pressing(b)) return pressing(a) ? -1 : 1
  if (a.waiting_since !== b.waiting_since) return a.waiting_since < b.waiting_since ? -1 : 1
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

// The whole queue on connect; then one conversation at a time, put in its place or removed.
socket.on('queue', (payload) => showQueue(payload.conversations))

socket.on('queue_update', (update) => {
  const rest = queue.filter((item) => item.id !== update.id)
  showQueue(update.conversation ? rest.concat([update.conversation]).sort(queueOrder) : rest)
})

// The urgent alert on screen: { id, waiting } (whether its chat was waiting when it came).
let alerting = null

function hideAlert () {
  alerting = null
  $alert.hidden = true
  $alert.replaceChildren()
}

function showQueue (items) {
  queue = items
  // Someone has taken the chat (or it ended): the alert is answered, for everyone.
  if (alerting) {
    const item = queue.find((entry) => entry.id === alerting.id)
    if (!item || (alerting.waiting && item.status !== 'waiting')) hideAlert()
  }
  const waiting = queue.filter((item) => item.status === 'waiting').map((item) => item.id)
  if (announced && !BOARD && !availability.away() && waiting.some((id) => !announced.has(id))) alerts.notify('visitor')
  announced = new Set([...(announced || []), ...waiting])
  for (const item of queue) {
    const known = conversations.has(item.id)
    // Held but not read on this page yet (just loaded, claimed elsewhere, transferred here): read
    // it now, so that a message missed later is known to be missed.
    const held = item.mine && !BOARD
    if (known || held) conversation(item.id).status = item.status
    if (!known && held) conversations.get(item.id).catchUp.run()
  }
  renderQueue()
  if (current) renderConversation()
  if (!BOARD) training.openWanted(queue, openConversation)
}

socket.on('message', (message) => {
  const conv = conversation(message.conversation_id)
  onScreen(conv, () => receive(message, true))
  conv.catchUp.check()
})

socket.on('case', (record) => caseView.render(record))

socket.on('alert', (payload) => {
  const item = queue.find((entry) => entry.id === payload.conversation_id)
  alerting = { id: payload.conversation_id, waiting: !item || item.status === 'waiting' }
  $alert.replaceChildren(h('span', null, T.alert(nameOf('desk', payload.desk), payload.by)))
  const $go = h('button', 'mg-primary', T.alertOpen)
  $go.type = 'button'
  $go.addEventListener('click', () => {
    if (BOARD) openConversation(payload.conversation_id)
    else location.assign('/inbox/board')
  })
  $alert.appendChild($go)
  $alert.hidden = false
  alerts.notify('urgent')
})

socket.on('status', (state) => {
  const conv = conversation(state.conversation_id)
  conv.status = state.status
  if (state.outcome) conv.outcome = state.outcome
  if (state.status === 'closed' || state.status === 'transferred') {
    outbox.failWhere((item) => item.conversationId === conv.id, 'conversation_closed')
  }
  if (conv.id === current) {
    renderConversation()
    showCase(conv)
  }
})

socket.on('typing', (payload) => {
  if (payload.conversation_id !== current) return
  $typing.hidden = false
  clearTimeout(typingTimer)
  typingTimer = setTimeout(() => { $typing.hidden = true }, TYPING_SHOWN_MS)
})

// ---- what the counselor does ----

if ($composer) {
  createCanned({
    $text,
    $list: $('mg-canned'),
    $button: $('mg-canned-open'),
    deskOf: () => (queue.find((item) => item.id === current) || {}).desk || '',
    T
  })

  $composer.addEventListener('submit', (event) => {
    event.preventDefault()
    const body = $text.value.trim()
    if (!current || !body) return
    if (Array.from(body).length > MAX_BODY_CHARS) {
      setBanner(T.failedAction)
      return
    }
    $text.value = ''
    const item = outbox.send({ conversationId: current, body })
    const conv = conversation(current)
    conv.thread.addPending(item.clientId, body)
    $scroll.scrollTop = $scroll.scrollHeight
  })

  $text.addEventListener('keydown', (event) => {
  // Enter sends, Shift+Enter is a new line; Enter that confirms an IME conversion is neither.
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return
    event.preventDefault()
    $composer.requestSubmit ? $composer.requestSubmit() : $composer.dispatchEvent(new Event('submit', { cancelable: true }))
  })

  $text.addEventListener('input', () => {
    const now = Date.now()
    if (!current || !socket.connected || now - lastTypingSent < TYPING_EVERY_MS) return
    lastTypingSent = now
    socket.emit('typing', { conversation_id: current })
  })

  $close.addEventListener('submit', (event) => {
    event.preventDefault()
    const id = current
    // The summary panel's unsaved words go with the close, on the revision they were written on.
    const payload = { conversation_id: id, outcome: $outcome.value, ...caseView.pending() }
    socket.timeout(ACK_TIMEOUT_MS).emit('close', payload, (err, ack) => {
      if (!err && !ack.ok && ack.error.code === 'summary_conflict') {
        setBanner(T.closeConflict)
        caseView.conflict()
        return
      }
      if (err || !ack.ok) {
        setBanner(T.failedAction)
        return
      }
      setBanner('')
      const conv = conversation(id)
      conv.status = 'closed'
      conv.outcome = $outcome.value
      if (id === current) {
        renderConversation()
        $title.focus()
      }
    })
  })
}

const $unwatch = $('mg-unwatch')
if ($unwatch) {
  $unwatch.addEventListener('click', () => {
    if (!current) return
    socket.emit('unmonitor', { conversation_id: current })
    conversations.get(current).watched = false
    current = null
    $convo.hidden = true
    $paneEmpty.hidden = false
    caseView.hide()
    renderQueue()
  })
}
