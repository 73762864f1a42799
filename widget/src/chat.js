// The visitor's chat, inside the iframe the loader opens (or full page at /chat). It runs on our
// origin, so the host page can read nothing of it. The server renders the page (the first
// screen, the forms); this script runs the conversation. The conversation token is the visitor's
// only key: it lives in this frame's sessionStorage (memory when storage is blocked), never
// anywhere else, and is wiped when the conversation ends, on quick exit and after inactivity.
import STRINGS from 'mg-i18n:chat'
import { io } from 'socket.io-client'
import { createCatchUp } from './catchup.js'
import { showDesk, wirePhoneList } from './desk-note.js'
import { EXIT_URL, leaveNow, watchShift } from './exit.js'
import { chooseLang, fill, strings } from './i18n.js'
import { watchIdle } from './idle.js'
import { createOutbox } from './outbox.js'
import { wireCodeWord, wireSurvey } from './survey.js'
import { createThread, followBottom } from './thread.js'

const ACK_TIMEOUT_MS = 8000
// While waiting, a calm note this often: still in line, and free to leave safely.
const WAIT_NOTE_MS = 3 * 60 * 1000
const RETRY_MS = 2000
const TYPING_EVERY_MS = 2000
const TYPING_SHOWN_MS = 4000
const MAX_BODY_CHARS = 2000
// A reload of the first screen at the desk's opening time, if it is this close.
const DAY_MS = 24 * 60 * 60 * 1000
const TOKEN_KEY = 'madoguchi.token'
const URGENT_KEY = 'madoguchi.urgent'

const cfg = document.body.dataset
const lang = chooseLang(STRINGS, cfg.lang)
const T = strings(STRINGS, lang)
// Framed by our loader, whose panel header already holds the exit and the title.
const embedded = location.hash === '#embedded' && window.parent !== window
const exitUrl = cfg.exitUrl || EXIT_URL

const $ = (hook) => document.querySelector(`.mg-js-${hook}`)
const $app = document.getElementById('mg-app')
const $banner = $('banner')
const $intro = $('intro')
const $heading = document.getElementById('mg-heading')
const $start = $('start') // absent out of hours: no form that nobody reads
const $urgent = $('urgent')
const $topic = $('topic') // the optional "what is it about" step; absent out of hours too
const $convo = $('convo')
const $urgentBox = $('urgent-box')
const $status = $('status')
const $scroll = $('scroll')
const $typing = $('typing')
const $compose = $('compose')
const $text = document.getElementById('mg-text')
const $tools = $('tools')
const $leave = $('leave')
const $confirm = $('confirm')
const $codeOpen = $('code-open')
const $code = $('code')
const $closed = $('closed')
const $closedText = document.getElementById('mg-closed-heading')
const $restart = $('restart')
const $idle = $('idle')
const $wait = $('wait')
const $waitTime = $('wait-time')
const $waitNote = $('wait-note')
const $unstaffed = $('unstaffed')
const $live = $('live')
wirePhoneList($unstaffed)

// Third-party storage may be blocked in a partner's iframe; the chat then still works for as long
// as the page stays open.
function stored (key) {
  try {
    return window.sessionStorage.getItem(key)
  } catch {
    return null
  }
}

function store (key, value) {
  try {
    window.sessionStorage.setItem(key, value)
  } catch {}
}

function wipeStorage () {
  try {
    window.sessionStorage.clear()
  } catch {}
}

let token = stored(TOKEN_KEY)
let urgent = Boolean(token && stored(URGENT_KEY))
let phase = token ? 'open' : 'intro' // intro → topic → starting → open → closed
let topic = null // the topic chosen on the first step, sent with `start`
let position = 0
let counselorName = ''
let waiting = false
let unstaffed = false // waiting while nobody who works the desk is online (`staffed: false`)
let waitNoteTimer = 0
let lastTypingSent = 0
let typingTimer = 0
let parentOrigin = ''
let panelOpen = !embedded
let unread = 0
let exited = false

const thread = createThread({
  own: 'visitor',
  locale: lang,
  who: (author) => (author === 'visitor' ? T.you : T.counselor),
  text: (code) => T[code] || code,
  status: (state) => T[state]
})
thread.$log.setAttribute('role', 'log')
thread.$log.setAttribute('aria-live', 'polite')
thread.$log.setAttribute('aria-label', $scroll.dataset.label)
$scroll.appendChild(thread.$log)
$text.maxLength = MAX_BODY_CHARS * 2 // UTF-16 units; the real limit is checked on send

const $exit = $('exit')
if (embedded) $('top').remove()

function setBanner (text) {
  $banner.textContent = text
  $banner.hidden = !text
}

const beforeStart = () => phase === 'intro' || phase === 'topic'

function showPhase () {
  $intro.hidden = phase !== 'intro'
  if ($topic) $topic.hidden = phase !== 'topic'
  $convo.hidden = beforeStart()
  $compose.hidden = $tools.hidden = phase === 'closed'
  $leave.disabled = $codeOpen.disabled = phase !== 'open'
  if (phase !== 'open') askToEnd(false)
  $leave.hidden = phase === 'closed' || !$confirm.hidden
  $closed.hidden = phase !== 'closed'
  $urgentBox.hidden = !urgent || beforeStart()
  $convo.classList.toggle('mg-convo--closed', phase === 'closed')
  // Inactivity never closes a chat that waits for a counselor: the wait is not the visitor's.
  if (beforeStart() || (phase === 'open' && waiting)) idle.disarm()
  else idle.arm()
  $wait.hidden = !(phase === 'open' && waiting)
  $unstaffed.hidden = !(phase === 'open' && waiting && unstaffed)
}

function focusMain () {
  if (phase === 'intro') ($start || $heading).focus()
  else if (phase === 'topic') $topic.querySelector('h1').focus()
  else if (phase === 'closed') $restart.focus()
  else $text.focus()
}

// ---- the connection ----

const socket = io('/visitor', {
  autoConnect: false,
  // Read on every (re)connect, so a reconnect after `start` carries the token.
  auth: (cb) => {
    const auth = { lang }
    if (cfg.partner) auth.partner = cfg.partner
    if (cfg.campaign) auth.campaign = cfg.campaign
    if (token) auth.token = token
    cb(auth)
  },
  reconnectionDelay: 1000,
  reconnectionDelayMax: 5000
})

function call (event, payload, done) {
  socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, ack) => {
    done(!err && ack.ok, err ? '' : ack.ok ? '' : ack.error.code, ack)
  })
}

const outbox = createOutbox(socket, {
  payload: (item) => ({ client_id: item.clientId, body: item.body }),
  ready: () => Boolean(token) && phase === 'open',
  onSent: (item, ack) => {
    followBottom($scroll, () => thread.add({
      seq: ack.seq,
      created_at: ack.created_at,
      author: 'visitor',
      body: item.body,
      client_id: item.clientId
    }))
    catchUp.check()
  },
  onFailed: (item) => thread.failed(item.clientId)
})

// After a reconnect, a reload or a lost delivery: what follows the last unbroken seq. Missed
// while the thread was already shown, the counselor's messages count as unread; on a reload,
// reading the whole conversation again, they do not.
const catchUp = createCatchUp(socket, thread, {
  payload: (after) => ({ after_seq: after }),
  apply: (messages, from) => {
    if (phase !== 'open' && phase !== 'closed') return
    followBottom($scroll, () => messages.forEach((message) => receive(message, from > 0)))
  },
  done: (ack) => {
    if (phase === 'open') applyStatus({ status: ack.status })
  }
})

function receive (message, live) {
  if (message.client_id) outbox.settle(message.client_id, message)
  if (!thread.add(message)) return
  if (message.author === 'counselor') $typing.hidden = true
  if (live && message.author !== 'visitor' && !panelOpen) {
    unread += 1
    tellParent({ type: 'madoguchi:unread', count: unread })
  }
}

function applyStatus (state) {
  if (state.status === 'closed') {
    closeDown()
    return
  }
  setWaiting(state.status === 'waiting')
  if (state.status === 'waiting') {
    if (state.queue_position) position = state.queue_position
    $status.textContent = position ? fill(T.waiting_at, { n: position }) : T.waiting
    if ('expected_wait' in state) $waitTime.textContent = waitText(state.expected_wait)
    if (state.desk) showDesk($unstaffed, state.desk)
    if ('staffed' in state) setUnstaffed(state.staffed === false)
  } else if (state.status === 'active') {
    if (state.counselor) counselorName = state.counselor
    $status.textContent = counselorName ? fill(T.active_with, { name: counselorName }) : T.active
  }
}

// An honest range from the desk's recent waits, or "not known yet" when there are too few.
function waitText (wait) {
  if (!wait) return T.wait_unknown
  if (!wait.min) return fill(T.wait_within, { max: wait.max })
  return fill(T.wait_range, { min: wait.min, max: wait.max })
}

// Nobody to answer now: the note with the phone lines, said once by screen readers; it goes
// away when a counselor comes online. Waiting on stays possible, and so does leaving.
function setUnstaffed (now) {
  if (now === unstaffed) return
  unstaffed = now
  if (unstaffed) $live.textContent = $unstaffed.querySelector('h2').textContent
  showPhase()
}

function setWaiting (now) {
  if (now === waiting) return
  waiting = now
  if (!waiting) unstaffed = false
  clearInterval(waitNoteTimer)
  $waitNote.textContent = ''
  if (waiting) {
    // The minutes make each note new, so that a screen reader reads it too.
    const since = Date.now()
    waitNoteTimer = setInterval(() => {
      $waitNote.textContent = fill(T.wait_note, { n: Math.round((Date.now() - since) / 60000) })
    }, WAIT_NOTE_MS)
  } else {
    $waitTime.textContent = ''
  }
  showPhase()
}

function requestStart () {
  const payload = urgent ? { urgent: true } : {}
  if (cfg.desk) payload.desk = cfg.desk
  if (topic) payload.topic = topic
  call('start', payload, (ok, code, ack) => {
    if (phase !== 'starting') return
    if (ok) {
      token = ack.conversation.token
      store(TOKEN_KEY, token)
      if (urgent) store(URGENT_KEY, '1')
      phase = 'open'
      showPhase()
      applyStatus(ack.conversation)
      outbox.flush()
    } else if (code === 'desk_closed') {
      // Closed since the page was drawn: draw it again, with the hours and the phones.
      location.reload()
    } else if (code) {
      backToIntro(T.unavailable)
    } else if (socket.connected) {
      // No answer: on the same connection a second `start` answers the same conversation.
      setTimeout(requestStart, RETRY_MS)
    }
  })
}

function closeDown () {
  if (phase === 'closed') return
  phase = 'closed'
  // Off the device at once. The token stays in memory only, while this screen offers the
  // survey and the code word; a reload or "back to the start" forgets it too.
  wipeStorage()
  outbox.failWhere(() => true, 'conversation_closed')
  $typing.hidden = true
  $status.textContent = ''
  setWaiting(false)
  setBanner('')
  survey.reset()
  $code.hidden = false
  $closed.insertBefore($code, $restart)
  showPhase()
  $closedText.focus()
}

// Forget the conversation entirely: nothing of it stays on the screen or the device.
function backToIntro (notice) {
  if (token && phase === 'open' && socket.connected) socket.emit('leave', {})
  socket.disconnect()
  token = null
  urgent = false
  topic = null
  wipeStorage()
  outbox.failWhere(() => true, 'forgotten')
  thread.clear()
  catchUp.reset()
  $code.hidden = true
  $tools.after($code)
  $codeOpen.setAttribute('aria-expanded', 'false')
  $('code-said').textContent = ''
  phase = 'intro'
  setWaiting(false)
  setBanner(notice)
  showPhase()
  $heading.focus()
}

socket.on('connect', () => {
  setBanner('')
  if (phase === 'starting') requestStart()
  else if (phase === 'open') {
    catchUp.run()
    outbox.flush()
  }
})

socket.on('connect_error', (err) => {
  const code = err && err.data && err.data.code
  if (code === 'invalid_token') {
    // The conversation is gone (ended, expired): start over, leaving nothing behind.
    backToIntro('')
  } else if (code) {
    // A refusal (unknown partner, origin): socket.io does not retry these, and neither do we.
    setBanner(T.unavailable)
  } else if (!beforeStart()) {
    setBanner(T.offline)
  }
})

socket.on('disconnect', (reason) => {
  if (exited || beforeStart() || reason === 'io client disconnect') return
  if (phase !== 'closed') setBanner(T.offline)
  if (reason === 'io server disconnect') socket.connect()
})

socket.on('message', (message) => {
  followBottom($scroll, () => receive(message, true))
  catchUp.check()
})
socket.on('status', applyStatus)
socket.on('typing', () => {
  $typing.hidden = false
  clearTimeout(typingTimer)
  typingTimer = setTimeout(() => { $typing.hidden = true }, TYPING_SHOWN_MS)
})

// ---- what the visitor does ----

function begin (inDanger, about) {
  phase = 'starting'
  urgent = inDanger
  topic = about
  position = 0
  counselorName = ''
  thread.clear()
  setBanner('')
  $status.textContent = T.connecting
  showPhase()
  // "I am in danger right now" shows 110 at once, before any answer from us (and offline too).
  if (inDanger) $urgentBox.querySelector('a').focus()
  else $text.focus()
  if (socket.connected) requestStart()
  else socket.connect()
}

$('nojs').remove()
if ($start) {
  $('actions').hidden = false
  // First the optional topic; "in danger right now" goes straight in.
  $start.addEventListener('click', () => {
    phase = 'topic'
    showPhase()
    focusMain()
  })
  $urgent.addEventListener('click', () => begin(true, null))
  $('topic-skip').addEventListener('click', () => begin(false, null))
  for (const $choice of document.querySelectorAll('.mg-js-topic-choice')) {
    $choice.addEventListener('click', () => begin(false, $choice.dataset.topic))
  }
  $('topic-back').addEventListener('click', () => {
    phase = 'intro'
    showPhase()
    focusMain()
  })
}

$compose.addEventListener('submit', (event) => {
  event.preventDefault()
  const body = $text.value.trim()
  if (!body) return
  if (Array.from(body).length > MAX_BODY_CHARS) {
    setBanner(T.too_long)
    return
  }
  setBanner('')
  $text.value = ''
  const item = outbox.send({ body })
  followBottom($scroll, () => thread.addPending(item.clientId, body))
  $scroll.scrollTop = $scroll.scrollHeight
})

$text.addEventListener('keydown', (event) => {
  // Enter sends, Shift+Enter is a new line; Enter that confirms an IME conversion is neither.
  if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229) return
  event.preventDefault()
  $compose.querySelector('[type=submit]').click()
})

$text.addEventListener('input', () => {
  const now = Date.now()
  if (phase !== 'open' || !socket.connected || now - lastTypingSent < TYPING_EVERY_MS) return
  lastTypingSent = now
  socket.emit('typing', {})
})

// Ending asks first; "continue" is the answer at hand.
function askToEnd (asking) {
  $confirm.hidden = !asking
  $leave.hidden = asking || phase === 'closed'
  if (asking) $('leave-no').focus()
}

$leave.addEventListener('click', () => askToEnd(true))
$('leave-no').addEventListener('click', () => {
  askToEnd(false)
  $text.focus()
})
$confirm.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape') return
  askToEnd(false)
  $leave.focus()
})
$('leave-yes').addEventListener('click', () => {
  if (!socket.connected) {
    setBanner(T.offline_leave)
    return
  }
  call('leave', {}, (ok) => {
    if (ok) closeDown()
    else setBanner(T.offline_leave)
  })
})

$codeOpen.addEventListener('click', () => {
  $code.hidden = !$code.hidden
  $codeOpen.setAttribute('aria-expanded', String(!$code.hidden))
  if (!$code.hidden) $code.querySelector('input').focus()
})

const send = (event, payload, done) => {
  if (socket.connected) call(event, payload, done)
  else done(false, '')
}
wireCodeWord($code, $('code-said'), T, send)
const survey = wireSurvey($('survey'), $('thanks'), T, send, () => $restart.focus())
$restart.addEventListener('click', () => backToIntro(''))
// After the end: the conversation off the screen at once, as quick exit does, but staying here.
$('clear').addEventListener('click', () => {
  wipe()
  socket.disconnect()
})

// Language links on the first screen: one history entry for the whole chat, in the frame too.
for (const $a of document.querySelectorAll('.mg-js-lang')) {
  $a.addEventListener('click', (event) => {
    event.preventDefault()
    location.replace($a.href + (embedded ? '#embedded' : ''))
  })
}

const idle = watchIdle(document, {
  onWarn: () => {
    $idle.hidden = false
    $idle.querySelector('button').focus()
  },
  onActive: () => { $idle.hidden = true },
  onExpire: () => {
    $idle.hidden = true
    backToIntro(T.idle_closed)
  }
})
$idle.querySelector('button').addEventListener('click', () => focusMain())

// ---- quick exit and the loader ----

function tellParent (message) {
  if (embedded && parentOrigin) window.parent.postMessage(message, parentOrigin)
}

// Quick exit: forget everything at once, without waiting for anyone. `leave` is best effort: it ends the
// conversation on the server if the connection is up, so nobody keeps writing into it.
function wipe () {
  // The reason lets the counselor see that the visitor had to leave in a hurry.
  if (!exited && token && phase === 'open' && socket.connected) socket.emit('leave', { reason: 'quick_exit' })
  // Whatever still arrives is not shown or counted. The `leave` above is already on its way:
  // socket.io writes to an open connection at once.
  socket.off()
  exited = true
  token = null
  wipeStorage()
  thread.clear()
  catchUp.reset()
  $app.textContent = ''
  document.title = ''
}

function quickExit () {
  wipe()
  leaveNow(exitUrl, embedded, parentOrigin)
}

$exit.addEventListener('click', (event) => {
  event.preventDefault()
  quickExit()
})

window.addEventListener('message', (event) => {
  if (!embedded || event.source !== window.parent) return
  const message = event.data
  if (!message || typeof message !== 'object') return
  // The frame-ancestors policy admits only the partner's pages as our parent, so the origin of
  // the parent's first message is the one to answer to.
  if (message.type === 'madoguchi:hello' && !parentOrigin) {
    parentOrigin = event.origin
    // The partner's own neutral page, for an exit from the host page from now on.
    tellParent({ type: 'madoguchi:exit-url', url: exitUrl })
  }
  if (event.origin !== parentOrigin) return
  if (message.type === 'madoguchi:open') {
    panelOpen = true
    unread = 0
    tellParent({ type: 'madoguchi:unread', count: 0 })
    if (!exited) focusMain()
  } else if (message.type === 'madoguchi:close') {
    panelOpen = false
  } else if (message.type === 'madoguchi:wipe') {
    wipe()
    tellParent({ type: 'madoguchi:wiped' })
  }
})

// Back (or Forward) into this page from the back/forward cache: never the old screen. A page
// left by quick exit starts afresh; a conversation still going is read again from the server.
window.addEventListener('pageshow', (event) => {
  if (!event.persisted) return
  if (exited || !token) {
    location.reload()
    return
  }
  thread.clear()
  catchUp.reset()
  catchUp.run()
})

watchShift(document, quickExit, (n) => {
  $live.textContent = n ? T[`shift_${3 - n}`] : T.expired
})

showPhase()
if (token) {
  $status.textContent = T.connecting
  socket.connect()
}
if (phase === 'intro' && cfg.nextOpen) {
  const wait = Date.parse(cfg.nextOpen) - Date.now()
  if (wait > 0 && wait < DAY_MS) setTimeout(() => location.reload(), wait + 1000)
}
