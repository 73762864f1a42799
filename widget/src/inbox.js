// The counselors' inbox: the live queue, claiming, and one conversation at a time.
// Same origin as the page, so the HttpOnly session cookie goes with the socket by itself.
import { io } from 'socket.io-client'
import { createOutbox } from './outbox.js'
import { createThread, followBottom, h } from './thread.js'

const STRINGS = {
  ja: {
    waiting: '待機中',
    active: '対応中',
    closed: '終了',
    urgent: '緊急',
    mine: '自分が担当',
    heldBy: (name) => `担当：${name}`,
    claim: '対応する',
    open: '開く',
    newMessage: '新着',
    wait: (m, s) => (m >= 60 ? `${Math.floor(m / 60)}時間${m % 60}分` : `${m}分${s}秒`),
    langs: { ja: '日本語', en: '英語' },
    sources: { direct: '直接', partner: 'パートナー', campaign: 'キャンペーン' },
    desk: 'デスク',
    visitor: '相談者：',
    me: '自分：',
    system: {
      counselor_joined: '相談員が入室しました。',
      conversation_closed: '相談を終了しました。',
      visitor_left: '相談者が退出しました。',
      visitor_quick_exit: '相談者が緊急退出しました。'
    },
    sending: '送信中…',
    failed: '送信できませんでした',
    title: (source) => `相談（${source}）`,
    statusWaiting: '相談者は待っています。',
    statusActive: '対応中です。',
    statusClosed: (outcome) => `この相談は終了しました${outcome ? `（${outcome}）` : ''}。`,
    offline: '接続が切れました。再接続しています…',
    refused: '接続できません。ページを再読み込みしてください。',
    claimed: 'ほかの相談員が先に対応を始めました。',
    failedAction: '操作できませんでした。もう一度お試しください。'
  },
  en: {
    waiting: 'Waiting',
    active: 'Active',
    closed: 'Closed',
    urgent: 'Urgent',
    mine: 'Yours',
    heldBy: (name) => `With ${name}`,
    claim: 'Take',
    open: 'Open',
    newMessage: 'New',
    wait: (m, s) => (m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m} min ${s} s`),
    langs: { ja: 'Japanese', en: 'English' },
    sources: { direct: 'direct', partner: 'partner', campaign: 'campaign' },
    desk: 'desk',
    visitor: 'Visitor: ',
    me: 'You: ',
    system: {
      counselor_joined: 'A counselor joined.',
      conversation_closed: 'The conversation was closed.',
      visitor_left: 'The visitor left.',
      visitor_quick_exit: 'The visitor left by quick exit.'
    },
    sending: 'Sending…',
    failed: 'Not sent',
    title: (source) => `Conversation (${source})`,
    statusWaiting: 'The visitor is waiting.',
    statusActive: 'Active.',
    statusClosed: (outcome) => `This conversation is closed${outcome ? ` (${outcome})` : ''}.`,
    offline: 'Connection lost. Reconnecting…',
    refused: 'Cannot connect. Please reload the page.',
    claimed: 'Another counselor took this conversation first.',
    failedAction: 'That did not work. Please try again.'
  }
}

const ACK_TIMEOUT_MS = 8000
const RETRY_MS = 2000
const TYPING_EVERY_MS = 2000
const TYPING_SHOWN_MS = 4000
const MAX_BODY_CHARS = 2000

const lang = document.body.dataset.lang === 'en' ? 'en' : 'ja'
const T = STRINGS[lang]
const $ = (id) => document.getElementById(id)
const $banner = $('mg-banner')
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

let queue = []
// Conversations this counselor has seen messages of: id → { id, status, outcome, thread, synced }.
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
      who: (author) => (author === 'visitor' ? T.visitor : T.me),
      text: (code) => T.system[code] || code,
      status: (state) => T[state]
    })
    thread.$log.setAttribute('role', 'log')
    thread.$log.setAttribute('aria-live', 'polite')
    // synced: every message up to thread.lastSeq is on screen, so a catch-up may start there.
    conv = { id, status: '', outcome: '', thread, synced: false, unread: false }
    conversations.set(id, conv)
  }
  return conv
}

// ---- the queue ----

function sourceText (source) {
  const [kind, name] = source.split(':')
  const label = T.sources[kind] || kind
  return name ? `${label}: ${name}` : label
}

function metaText (item) {
  return [`${T.desk}: ${item.desk}`, T.langs[item.lang] || item.lang, sourceText(item.source)].join(' · ')
}

function waitText (since) {
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000))
  return T.wait(Math.floor(seconds / 60), seconds % 60)
}

function queueEntry (item) {
  const conv = conversations.get(item.id)
  const $li = h('li', `mg-q mg-q--${item.status}`)
  $li.classList.toggle('mg-q--mine', Boolean(item.mine))
  $li.classList.toggle('mg-q--current', item.id === current)
  const $head = h('p', 'mg-q-head')
  $head.appendChild(h('span', 'mg-q-state', item.status === 'waiting' ? T.waiting : T.active))
  if (item.urgent) $head.appendChild(h('span', 'mg-q-urgent', T.urgent))
  if (item.status === 'waiting') {
    const $wait = h('span', 'mg-js-wait', waitText(item.waiting_since))
    $wait.dataset.since = item.waiting_since
    $head.appendChild($wait)
  }
  if (conv && conv.unread) $head.appendChild(h('span', 'mg-q-new', T.newMessage))
  $li.append($head, h('p', 'mg-q-meta', metaText(item)))
  if (item.status === 'active') $li.appendChild(h('p', 'mg-q-who', item.mine ? T.mine : T.heldBy(item.counselor || '')))
  let $button = null
  if (item.status === 'waiting') {
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
  if (focusedKey) {
    const $again = Array.from($queueList.querySelectorAll('button')).find(($b) => $b.dataset.key === focusedKey)
    if ($again) $again.focus()
  }
}

setInterval(() => {
  for (const $wait of $queueList.querySelectorAll('.mg-js-wait')) $wait.textContent = waitText($wait.dataset.since)
}, 1000)

// ---- one conversation ----

function outcomeLabel (value) {
  const $option = Array.from($outcome.options).find(($o) => $o.value === value)
  return $option ? $option.textContent : value
}

function renderConversation () {
  const conv = conversations.get(current)
  if (!conv) return
  const item = queue.find((entry) => entry.id === current)
  if (item) $title.textContent = T.title(metaText(item))
  if (conv.status === 'closed') $status.textContent = T.statusClosed(outcomeLabel(conv.outcome))
  else $status.textContent = conv.status === 'waiting' ? T.statusWaiting : conv.status === 'active' ? T.statusActive : ''
  const canWrite = conv.status === 'active'
  $composer.hidden = !canWrite
  $close.hidden = !canWrite
  if (!canWrite) $typing.hidden = true
}

function openConversation (id) {
  const conv = conversation(id)
  current = id
  conv.unread = false
  $paneEmpty.hidden = true
  $convo.hidden = false
  $typing.hidden = true
  $scroll.replaceChildren(conv.thread.$log)
  $scroll.scrollTop = $scroll.scrollHeight
  renderConversation()
  renderQueue()
  catchUp(conv)
  if (conv.status === 'active') $text.focus()
  else $title.focus()
}

// Every message after the last one shown (all of them the first time), in seq order.
function catchUp (conv) {
  const after = conv.synced ? conv.thread.lastSeq : 0
  socket.timeout(ACK_TIMEOUT_MS).emit('history', { conversation_id: conv.id, after_seq: after }, (err, ack) => {
    if (err || !ack.ok) {
      if (socket.connected && (err || ack.error.code === 'rate_limited')) setTimeout(() => catchUp(conv), RETRY_MS)
      return
    }
    const apply = () => ack.messages.forEach(receive)
    if (conv.id === current) followBottom($scroll, apply)
    else apply()
    conv.synced = true
    conv.status = ack.status
    if (ack.more) catchUp(conv)
    if (conv.id === current) renderConversation()
  })
}

function receive (message) {
  const conv = conversation(message.conversation_id)
  if (message.client_id) outbox.settle(message.client_id, message)
  if (!conv.thread.add(message) || message.author !== 'visitor') return
  if (conv.id === current) {
    $typing.hidden = true
  } else {
    conv.unread = true
    renderQueue()
  }
}

function claim (id) {
  socket.timeout(ACK_TIMEOUT_MS).emit('claim', { conversation_id: id }, (err, ack) => {
    if (err) {
      setBanner(T.failedAction)
    } else if (!ack.ok) {
      setBanner(ack.error.code === 'already_claimed' ? T.claimed : T.failedAction)
    } else {
      setBanner('')
      conversation(id).status = 'active'
      openConversation(id)
    }
  })
}

// ---- the connection ----

const socket = io('/counselor', { reconnectionDelay: 1000, reconnectionDelayMax: 5000 })

const outbox = createOutbox(socket, {
  payload: (item) => ({ conversation_id: item.conversationId, client_id: item.clientId, body: item.body }),
  ready: () => true,
  onSent: (item, ack) => {
    const conv = conversation(item.conversationId)
    const apply = () => conv.thread.add({
      conversation_id: conv.id,
      seq: ack.seq,
      created_at: ack.created_at,
      author: 'counselor',
      body: item.body,
      client_id: item.clientId
    })
    if (conv.id === current) followBottom($scroll, apply)
    else apply()
  },
  onFailed: (item) => conversation(item.conversationId).thread.failed(item.clientId)
})

socket.on('connect', () => {
  setBanner('')
  // Live messages missed while away are fetched again: now for the open conversation, on
  // opening for the others.
  for (const conv of conversations.values()) if (conv.id !== current) conv.synced = false
  if (current) catchUp(conversations.get(current))
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

socket.on('queue', (payload) => {
  queue = payload.conversations
  for (const item of queue) if (conversations.has(item.id)) conversations.get(item.id).status = item.status
  renderQueue()
  if (current) renderConversation()
})

socket.on('message', (message) => {
  if (message.conversation_id === current) followBottom($scroll, () => receive(message))
  else receive(message)
})

socket.on('status', (state) => {
  const conv = conversation(state.conversation_id)
  conv.status = state.status
  if (state.outcome) conv.outcome = state.outcome
  if (state.status === 'closed') {
    outbox.failWhere((item) => item.conversationId === conv.id, 'conversation_closed')
  }
  if (conv.id === current) renderConversation()
})

socket.on('typing', (payload) => {
  if (payload.conversation_id !== current) return
  $typing.hidden = false
  clearTimeout(typingTimer)
  typingTimer = setTimeout(() => { $typing.hidden = true }, TYPING_SHOWN_MS)
})

// ---- what the counselor does ----

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
  socket.timeout(ACK_TIMEOUT_MS).emit('close', { conversation_id: id, outcome: $outcome.value }, (err, ack) => {
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
