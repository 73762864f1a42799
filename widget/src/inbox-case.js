// The record beside a conversation: code word, quick exit, risk, topic tags, notes, the handoff
// summary, transfer and (for supervisors) a private note to the counselor. Staff only: none of
// it is ever sent to the visitor. Every text goes in through textContent.
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
  const $transfer = $('mg-transfer')
  const $transferForm = $('mg-transfer-form')
  const $risks = Array.from(document.querySelectorAll('input[name="mg-risk"]'))
  const $tags = Array.from(document.querySelectorAll('.mg-js-tag'))
  let id = null

  function call (event, payload, done) {
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
      if (err || !ack.ok) {
        setBanner(ack && ack.error && ack.error.code === 'chat_limit' ? T.chatLimit : T.failedAction)
        return
      }
      setBanner('')
      if (done) done(ack)
    })
  }

  function render (record) {
    if (record.conversation_id !== id) return
    $codeWord.textContent = record.code_word || T.noCodeWord
    $alerts.textContent = record.quick_exit ? T.quickExit : ''
    for (const $r of $risks) $r.checked = $r.value === record.risk
    $panel.dataset.risk = record.risk
    const tags = new Set(record.tags)
    for (const $t of $tags) $t.checked = tags.has($t.value)
    if (document.activeElement !== $summary) $summary.value = record.summary || ''
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
  $summaryForm.addEventListener('submit', (event) => {
    event.preventDefault()
    if (id) call('summary', { conversation_id: id, summary: $summary.value }, () => setBanner(T.saved))
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

  return { show, hide, render, get id () { return id } }
}
