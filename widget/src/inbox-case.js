// The record beside a conversation: code word, quick exit, risk, topic tags, notes, the handoff
// summary, transfer and (for supervisors) a private note to the counselor. Staff only: none of
// it is ever sent to the visitor. Every text goes in through textContent.
//
// The summary is one field for saving and for closing. A save carries the revision it was
// written on (`base`, the `summary_at` last shown); if someone saved meanwhile, the server
// refuses (`summary_conflict`) and the panel shows their text beside what was typed, which
// stays. A `case` arriving while the field holds unsaved words never replaces them.
import { timeElement } from './inbox-time.js'
import { h } from './thread.js'

const ACK_TIMEOUT_MS = 8000

export function createCase ({ socket, T, lang, setBanner }) {
  const $ = (id) => document.getElementById(id)
  const $panel = $('mg-case')
  const $alerts = $('mg-case-alerts')
  const $codeWord = $('mg-code-word')
  const $notes = $('mg-notes')
  const $noteForm = $('mg-note-form')
  const $note = $('mg-note')
  const $whisperForm = $('mg-whisper-form')
  const $whisper = $('mg-whisper')
  const $summaryForm = $('mg-summary-form')
  const $summary = $('mg-summary')
  const $summaryBy = $('mg-summary-by')
  const $conflict = $('mg-summary-conflict')
  const $transfer = $('mg-transfer')
  const $transferForm = $('mg-transfer-form')
  const $risks = Array.from(document.querySelectorAll('input[name="mg-risk"]'))
  const $tags = Array.from(document.querySelectorAll('.mg-js-tag'))
  let id = null
  // The summary as last stored (text, revision, who) and the revision the field was written on.
  let stored = { text: '', at: null, by: null }
  let base = null

  // refused(code) → true when it has told the user itself.
  function call (event, payload, done, refused) {
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
      if (err || !ack.ok) {
        const code = ack && ack.error && ack.error.code
        if (refused && refused(code)) return
        setBanner(code === 'chat_limit' ? T.chatLimit : T.failedAction)
        return
      }
      // A done change clears an old failure; a read leaves what was just said ("引き継ぎました。").
      if (event !== 'case') setBanner('')
      if (done) done(ack)
    })
  }

  // As the server keeps it: trimmed, with \n line ends.
  const normal = (text) => (text || '').replace(/\r\n/g, '\n').trim()
  const unsaved = () => normal($summary.value) !== normal(stored.text)

  function renderSummary (record) {
    const typed = unsaved() && normal($summary.value) !== normal(record.summary)
    stored = { text: record.summary || '', at: record.summary_at, by: record.summary_by }
    if (!typed) {
      $summary.value = stored.text
      base = stored.at
      $conflict.hidden = true
    }
    $summaryBy.replaceChildren()
    if (stored.by && stored.at) $summaryBy.append(T.summaryBy(stored.by), timeElement(stored.at, lang))
  }

  // Someone else saved first: their text beside ours, which stays; the next save replaces theirs
  // knowingly, so it is written on their revision.
  function showConflict (record) {
    if (record.conversation_id !== id) return
    renderSummary(record)
    base = stored.at
    $conflict.replaceChildren(
      h('p', 'mg-conflict-text', T.summaryConflict(stored.by)),
      h('p', 'mg-conflict-label', T.summaryTheirs),
      h('p', 'mg-body mg-conflict-theirs', stored.text || T.noCodeWord)
    )
    const $take = h('button', 'mg-secondary', T.summaryTake)
    $take.type = 'button'
    $take.addEventListener('click', () => {
      $summary.value = stored.text
      $conflict.hidden = true
      $summary.focus()
    })
    $conflict.appendChild($take)
    $conflict.hidden = false
  }

  function conflict () {
    if (id) call('case', { conversation_id: id }, (ack) => showConflict(ack.case))
  }

  // What a close carries: the summary if it has unsaved words, with the revision they were
  // written on; else nothing, and the stored summary stays as it is.
  function pending () {
    return unsaved() ? { summary: $summary.value, base } : {}
  }

  function render (record) {
    if (record.conversation_id !== id) return
    $codeWord.textContent = record.code_word || T.noCodeWord
    $alerts.textContent = record.quick_exit ? T.quickExit : ''
    for (const $r of $risks) $r.checked = $r.value === record.risk
    $panel.dataset.risk = record.risk
    const tags = new Set(record.tags)
    for (const $t of $tags) $t.checked = tags.has($t.value)
    renderSummary(record)
    $notes.replaceChildren(...record.notes.map((note) => {
      const $li = h('li', `mg-note mg-note--${note.kind}`)
      const who = note.to ? `${note.author} → ${note.to}` : note.author
      const $meta = h('p', 'mg-note-meta', `${T.noteKinds[note.kind] || note.kind} · ${who} · `)
      $meta.appendChild(timeElement(note.created_at, lang))
      $li.append(
        $meta,
        h('p', 'mg-body', note.body)
      )
      return $li
    }))
  }

  // work: may add casework; whisper: a supervisor watching someone else's chat.
  function show (conversationId, { work, whisper, open }) {
    id = conversationId
    $panel.hidden = false
    $codeWord.textContent = T.noCodeWord
    $alerts.textContent = ''
    $notes.replaceChildren()
    stored = { text: '', at: null, by: null }
    base = null
    $summary.value = ''
    $summaryBy.replaceChildren()
    $conflict.hidden = true
    for (const $input of $panel.querySelectorAll('input, textarea, select, button')) $input.disabled = !work
    $transfer.hidden = !work || !open
    if ($whisperForm) {
      $whisperForm.hidden = !whisper
      for (const $input of $whisperForm.querySelectorAll('textarea, button')) $input.disabled = !whisper
    }
    call('case', { conversation_id: id }, (ack) => render(ack.case))
  }

  function hide () {
    id = null
    $panel.hidden = true
  }

  for (const $r of $risks) {
    $r.addEventListener('change', () => {
      if ($r.checked && id) call('risk', { conversation_id: id, level: $r.value })
    })
  }
  for (const $t of $tags) {
    $t.addEventListener('change', () => {
      if (id) call('tag', { conversation_id: id, tags: $tags.filter(($x) => $x.checked).map(($x) => $x.value) })
    })
  }
  function submitOnCtrlEnter ($area, $form) {
    $area.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !event.isComposing) {
        event.preventDefault()
        $form.requestSubmit()
      }
    })
  }
  submitOnCtrlEnter($note, $noteForm)
  $noteForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const body = $note.value.trim()
    if (!id || !body) return
    call('note', { conversation_id: id, body }, () => { $note.value = '' })
  })
  if ($whisperForm) {
    submitOnCtrlEnter($whisper, $whisperForm)
    $whisperForm.addEventListener('submit', (event) => {
      event.preventDefault()
      const body = $whisper.value.trim()
      if (!id || !body) return
      call('supervisor_note', { conversation_id: id, body }, () => { $whisper.value = '' })
    })
  }
  submitOnCtrlEnter($summary, $summaryForm)
  $summaryForm.addEventListener('submit', (event) => {
    event.preventDefault()
    if (!id) return
    const text = $summary.value
    call('summary', { conversation_id: id, summary: text, base }, (ack) => {
      // The `case` that follows may come before or after this: either way this text is stored.
      if (normal($summary.value) === normal(text)) {
        stored = { ...stored, text: normal(text), at: ack.summary_at }
        base = ack.summary_at
      }
      $conflict.hidden = true
      setBanner(T.saved)
    }, (code) => {
      if (code !== 'summary_conflict') return false
      setBanner('')
      conflict()
      return true
    })
  })
  $transferForm.addEventListener('submit', (event) => {
    event.preventDefault()
    const payload = { conversation_id: id }
    const user = $('mg-transfer-user').value
    const desk = $('mg-transfer-desk').value
    const note = $('mg-transfer-note').value.trim()
    if (user) payload.to_user = user
    if (desk) payload.to_desk = desk
    if (note) payload.note = note
    if (!id || (!user && !desk)) return
    call('transfer', payload, () => {
      $('mg-transfer-note').value = ''
      $transfer.open = false
      setBanner(T.transferred)
    })
  })

  return { show, hide, render, pending, conflict, get id () { return id } }
}
