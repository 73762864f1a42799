// The visitor's chat, inside the iframe the loader opens (or full page at /chat). It runs on our
// origin, so the host page can read nothing of it. The conversation token is the visitor's only
// key: it lives in this frame's sessionStorage (memory when storage is blocked), never anywhere
// else, and is wiped when the conversation ends or the visitor exits.
import { io } from 'socket.io-client'
import { EXIT_URL, dropReferrer, watchShift } from './exit.js'
import { createOutbox } from './outbox.js'
import { createThread, followBottom, h } from './thread.js'

const STRINGS = {
  ja: {
    title: '相談チャット',
    heading: 'チャットで相談する',
    about: '相談員が順番にお答えします。お名前や連絡先を書く必要はありません。',
    exitNote: '「緊急退出」を押すか、Shiftキーを3回続けて押すと、この画面をすぐに消して天気予報のページに移ります。ブラウザーの履歴は消えません。',
    start: '相談を始める',
    connecting: '接続しています…',
    waiting: '相談員を待っています。待っている間にも書き始められます。',
    waitingAt: (n) => `相談員を待っています（${n}番目）。待っている間にも書き始められます。`,
    active: '相談員が対応しています。',
    activeWith: (name) => `相談員の${name}さんが対応しています。`,
    typing: '相談員が入力しています…',
    log: 'メッセージ',
    message: 'メッセージを入力',
    send: '送信',
    sending: '送信中…',
    failed: '送信できませんでした',
    leave: '相談を終える',
    closed: '相談は終了しました。',
    restart: '最初の画面に戻る',
    offline: '接続が切れました。再接続しています…',
    unavailable: '現在チャットに接続できません。時間をおいてもう一度お試しください。',
    tooLong: 'メッセージは2000文字以内にしてください。',
    offlineLeave: '接続が戻ってから、もう一度お試しください。',
    you: 'あなた：',
    counselor: '相談員：',
    system: {
      counselor_joined: '相談員が入室しました。',
      conversation_closed: '相談員が相談を終了しました。',
      visitor_left: '相談を終了しました。'
    },
    exit: '緊急退出',
    more: (n) => `Shiftキーをあと${n}回押すと退出します`,
    expired: '緊急退出の操作は取り消されました'
  },
  en: {
    title: 'Consultation chat',
    heading: 'Talk to a counselor by chat',
    about: 'A counselor will answer you in turn. You do not need to give your name or contact details.',
    exitNote: 'Press "Exit" or press Shift three times to clear this screen at once and go to a weather page. Your browser history is not erased.',
    start: 'Start',
    connecting: 'Connecting…',
    waiting: 'Waiting for a counselor. You can start writing now.',
    waitingAt: (n) => `Waiting for a counselor (you are number ${n}). You can start writing now.`,
    active: 'A counselor is with you.',
    activeWith: (name) => `${name}, a counselor, is with you.`,
    typing: 'The counselor is typing…',
    log: 'Messages',
    message: 'Type a message',
    send: 'Send',
    sending: 'Sending…',
    failed: 'Not sent',
    leave: 'End the chat',
    closed: 'This chat has ended.',
    restart: 'Back to the start',
    offline: 'Connection lost. Reconnecting…',
    unavailable: 'The chat cannot connect right now. Please try again later.',
    tooLong: 'Please keep a message under 2,000 characters.',
    offlineLeave: 'Please try again when the connection is back.',
    you: 'You: ',
    counselor: 'Counselor: ',
    system: {
      counselor_joined: 'A counselor joined.',
      conversation_closed: 'The counselor ended the chat.',
      visitor_left: 'You ended the chat.'
    },
    exit: 'Exit',
    more: (n) => `Press Shift ${n} more time${n > 1 ? 's' : ''} to exit`,
    expired: 'Exit cancelled'
  }
}

const ACK_TIMEOUT_MS = 8000
const RETRY_MS = 2000
const TYPING_EVERY_MS = 2000
const TYPING_SHOWN_MS = 4000
const MAX_BODY_CHARS = 2000
const TOKEN_KEY = 'madoguchi.token'

const cfg = document.body.dataset
const lang = cfg.lang === 'en' ? 'en' : 'ja'
const T = STRINGS[lang]
// Framed by our loader, whose panel header already holds the exit and the title.
const embedded = location.hash === '#embedded' && window.parent !== window

// Third-party storage may be blocked in a partner's iframe; the chat then still works for as long
// as the page stays open.
let token = readToken()
let phase = token ? 'open' : 'intro' // intro → starting → open → closed
let position = 0
let counselorName = ''
let lastTypingSent = 0
let typingTimer = 0
let parentOrigin = ''
let panelOpen = !embedded
let unread = 0
let exited = false

function readToken () {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

function saveToken (value) {
  token = value
  try {
    window.sessionStorage.setItem(TOKEN_KEY, value)
  } catch {}
}

function wipeToken () {
  token = null
  try {
    window.sessionStorage.clear()
  } catch {}
}

// ---- the page ----

const $app = document.getElementById('mg-app')
const $banner = h('p', 'mg-banner')
$banner.setAttribute('role', 'status')
$banner.hidden = true

const $intro = h('section', 'mg-intro')
const $heading = h('h1', 'mg-heading', T.heading)
$heading.tabIndex = -1
const $start = h('button', 'mg-primary', T.start)
$start.type = 'button'
$intro.append($heading, h('p', '', T.about), h('p', 'mg-note', T.exitNote), $start)

const $convo = h('section', 'mg-convo')
const $status = h('p', 'mg-status')
$status.setAttribute('role', 'status')
const thread = createThread({
  own: 'visitor',
  locale: lang,
  who: (author) => (author === 'visitor' ? T.you : T.counselor),
  text: (code) => T.system[code] || code,
  status: (state) => T[state]
})
const $scroll = h('div', 'mg-scroll')
thread.$log.setAttribute('role', 'log')
thread.$log.setAttribute('aria-live', 'polite')
thread.$log.setAttribute('aria-label', T.log)
$scroll.appendChild(thread.$log)
const $typing = h('p', 'mg-typing', T.typing)
$typing.hidden = true

const $compose = h('form', 'mg-compose')
const $text = h('textarea', 'mg-text')
$text.id = 'mg-text'
$text.rows = 2
$text.maxLength = MAX_BODY_CHARS * 2 // UTF-16 units; the real limit is checked on send
const $label = h('label', 'mg-sr', T.message)
$label.htmlFor = 'mg-text'
$text.placeholder = T.message
const $send = h('button', 'mg-primary', T.send)
$send.type = 'submit'
$compose.append($label, $text, $send)

const $leave = h('button', 'mg-secondary', T.leave)
$leave.type = 'button'
const $closed = h('div', 'mg-closed')
const $closedText = h('p', 'mg-closed-text', T.closed)
$closedText.tabIndex = -1
const $restart = h('button', 'mg-secondary', T.restart)
$restart.type = 'button'
$closed.append($closedText, $restart)
$closed.hidden = true
$convo.append($status, $scroll, $typing, $compose, $leave, $closed)

const $live = h('p', 'mg-sr')
$live.setAttribute('aria-live', 'polite')

if (!embedded) {
  const $top = h('header', 'mg-top')
  const $exit = h('a', 'mg-exit', T.exit)
  $exit.href = EXIT_URL
  $exit.rel = 'nofollow noreferrer'
  $exit.addEventListener('click', (event) => {
    event.preventDefault()
    quickExit()
  })
  $top.append($exit, h('span', 'mg-top-title', T.title))
  $app.appendChild($top)
}
$app.append($banner, $intro, $convo, $live)
document.title = T.title

function setBanner (text) {
  $banner.textContent = text
  $banner.hidden = !text
}

function setStatus (text) {
  $status.textContent = text
}

function showPhase () {
  $intro.hidden = phase !== 'intro'
  $convo.hidden = phase === 'intro'
  $compose.hidden = $leave.hidden = phase === 'closed'
  $leave.disabled = phase !== 'open'
  $closed.hidden = phase !== 'closed'
}

function focusMain () {
  if (phase === 'intro') $start.focus()
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
  },
  onFailed: (item) => thread.failed(item.clientId)
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
  if (state.status === 'waiting') {
    if (state.queue_position) position = state.queue_position
    setStatus(position ? T.waitingAt(position) : T.waiting)
  } else if (state.status === 'active') {
    if (state.counselor) counselorName = state.counselor
    setStatus(counselorName ? T.activeWith(counselorName) : T.active)
  }
}

function requestStart () {
  socket.timeout(ACK_TIMEOUT_MS).emit('start', cfg.desk ? { desk: cfg.desk } : {}, (err, ack) => {
    if (phase !== 'starting') return
    if (err) {
      // On the same connection a second `start` answers the same conversation.
      if (socket.connected) setTimeout(requestStart, RETRY_MS)
      return
    }
    if (!ack.ok) {
      setBanner(T.unavailable)
      return
    }
    saveToken(ack.conversation.token)
    phase = 'open'
    showPhase()
    applyStatus(ack.conversation)
    outbox.flush()
  })
}

// After a reconnect or a reload: everything after the last message shown, in seq order.
function catchUp () {
  if (phase !== 'open') return
  socket.timeout(ACK_TIMEOUT_MS).emit('history', { after_seq: thread.lastSeq }, (err, ack) => {
    if (phase !== 'open') return
    if (err || !ack.ok) {
      if (socket.connected) setTimeout(catchUp, RETRY_MS)
      return
    }
    followBottom($scroll, () => ack.messages.forEach((message) => receive(message, false)))
    if (ack.more) catchUp()
    else applyStatus({ status: ack.status })
  })
}

function closeDown () {
  if (phase === 'closed') return
  phase = 'closed'
  wipeToken()
  outbox.failWhere(() => true, 'conversation_closed')
  $typing.hidden = true
  setStatus('')
  setBanner('')
  showPhase()
  $closedText.focus()
  // Nothing more will come; a new consultation connects afresh.
  socket.disconnect()
}

socket.on('connect', () => {
  setBanner('')
  if (phase === 'starting') requestStart()
  else if (phase === 'open') {
    catchUp()
    outbox.flush()
  }
})

socket.on('connect_error', (err) => {
  const code = err && err.data && err.data.code
  if (code === 'invalid_token') {
    // The conversation is gone (ended, expired): start over, leaving nothing behind.
    wipeToken()
    thread.clear()
    outbox.failWhere(() => true, code)
    phase = 'intro'
    setBanner('')
    showPhase()
  } else if (code) {
    // A refusal (unknown partner, origin): socket.io does not retry these, and neither do we.
    setBanner(T.unavailable)
  } else if (phase !== 'intro') {
    setBanner(T.offline)
  }
})

socket.on('disconnect', (reason) => {
  if (phase === 'closed' || exited || reason === 'io client disconnect') return
  setBanner(T.offline)
  if (reason === 'io server disconnect') socket.connect()
})

socket.on('message', (message) => followBottom($scroll, () => receive(message, true)))
socket.on('status', applyStatus)
socket.on('typing', () => {
  $typing.hidden = false
  clearTimeout(typingTimer)
  typingTimer = setTimeout(() => { $typing.hidden = true }, TYPING_SHOWN_MS)
})

// ---- what the visitor does ----

$start.addEventListener('click', () => {
  phase = 'starting'
  position = 0
  counselorName = ''
  thread.clear()
  setStatus(T.connecting)
  showPhase()
  $text.focus()
  if (socket.connected) requestStart()
  else socket.connect()
})

$compose.addEventListener('submit', (event) => {
  event.preventDefault()
  const body = $text.value.trim()
  if (!body) return
  if (Array.from(body).length > MAX_BODY_CHARS) {
    setBanner(T.tooLong)
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
  $send.click()
})

$text.addEventListener('input', () => {
  const now = Date.now()
  if (phase !== 'open' || !socket.connected || now - lastTypingSent < TYPING_EVERY_MS) return
  lastTypingSent = now
  socket.emit('typing', {})
})

$leave.addEventListener('click', () => {
  if (!socket.connected) {
    setBanner(T.offlineLeave)
    return
  }
  socket.timeout(ACK_TIMEOUT_MS).emit('leave', {}, (err, ack) => {
    if (!err && ack.ok) closeDown()
    else setBanner(T.offlineLeave)
  })
})

$restart.addEventListener('click', () => {
  thread.clear()
  phase = 'intro'
  setStatus('')
  showPhase()
  $heading.focus()
})

// ---- quick exit and the loader ----

function tellParent (message) {
  if (embedded && parentOrigin) window.parent.postMessage(message, parentOrigin)
}

// Quick exit: forget everything at once, without waiting for anyone. `leave` is best effort: it ends the
// conversation on the server if the connection is up, so nobody keeps writing into it.
function wipe () {
  // The reason lets the counselor see that the visitor had to leave in a hurry.
  if (!exited && token && socket.connected) socket.emit('leave', { reason: 'quick_exit' })
  // Whatever still arrives is not shown or counted. The `leave` above is already on its way:
  // socket.io writes to an open connection at once.
  socket.off()
  exited = true
  wipeToken()
  thread.clear()
  $app.textContent = ''
  document.title = ''
}

function quickExit () {
  wipe()
  if (embedded && parentOrigin) {
    tellParent({ type: 'madoguchi:quick-exit' })
  } else if (embedded) {
    // The loader never said hello; leave the whole page ourselves (a click allows it).
    try {
      window.top.location.replace(EXIT_URL)
    } catch {}
  } else {
    dropReferrer(document)
    location.replace(EXIT_URL)
  }
}

window.addEventListener('message', (event) => {
  if (!embedded || event.source !== window.parent) return
  const message = event.data
  if (!message || typeof message !== 'object') return
  // The frame-ancestors policy admits only the partner's pages as our parent, so the origin of
  // the parent's first message is the one to answer to.
  if (message.type === 'madoguchi:hello' && !parentOrigin) parentOrigin = event.origin
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

watchShift(document, quickExit, (n) => {
  $live.textContent = n ? T.more(3 - n) : T.expired
})

showPhase()
if (token) {
  setStatus(T.connecting)
  socket.connect()
}
