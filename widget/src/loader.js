// The one script partner sites embed (issue 4). It draws a launcher and an always-visible quick
// exit, and makes no request of its own until the visitor opens the chat: a partner's visitors
// who never open it leave no trace with us. The conversation itself runs in an iframe served from
// our origin, so the host page can never read it; only UI signals cross, never message text.
import { EXIT_URL, dropReferrer, watchShift } from './exit.js'

const STRINGS = {
  ja: {
    open: '相談する',
    exit: '緊急退出',
    close: '閉じる',
    title: '相談チャット',
    leaving: '移動しています',
    unread: (n) => `新着${n}件`,
    more: (n) => `Shiftキーをあと${n}回押すと退出します`,
    expired: '緊急退出の操作は取り消されました'
  },
  en: {
    open: 'Chat with us',
    exit: 'Exit',
    close: 'Close',
    title: 'Consultation chat',
    leaving: 'Loading',
    unread: (n) => `${n} new`,
    more: (n) => `Press Shift ${n} more time${n > 1 ? 's' : ''} to exit`,
    expired: 'Exit cancelled'
  }
}

// The launcher lives in a shadow root: the host page's stylesheet cannot reach inside, and ours
// cannot leak out. px, not rem: a host page may change the root font size.
const CSS = `
:host{all:initial}
[hidden]{display:none!important}
*{box-sizing:border-box;margin:0;font:16px/1.4 system-ui,-apple-system,"Hiragino Sans","Yu Gothic UI",sans-serif;letter-spacing:normal;text-transform:none}
.mg-bar,.mg-panel{position:fixed;right:16px;bottom:16px;z-index:2147483000}
.mg-bar{display:flex;flex-direction:column;align-items:flex-end;gap:8px}
.mg-left{right:auto;left:16px;align-items:flex-start}
.mg-exit,.mg-launch,.mg-close{display:inline-flex;align-items:center;gap:6px;min-height:44px;padding:8px 16px;border-radius:8px;border:2px solid transparent;cursor:pointer;text-decoration:none;font-weight:700}
.mg-exit{background:#b3261e;color:#fff}
.mg-launch{background:#1d4f6e;color:#fff;box-shadow:0 2px 8px rgba(0,0,0,.25)}
.mg-close{background:#fff;color:#1d4f6e;border-color:#1d4f6e}
.mg-exit:hover{background:#8c1d18}
.mg-launch:hover{background:#143a52}
:focus-visible{outline:3px solid #fd0;outline-offset:2px;box-shadow:0 0 0 5px #000}
.mg-badge{background:#fff;color:#1d4f6e;border-radius:999px;padding:0 8px;font-size:14px}
.mg-panel{display:flex;flex-direction:column;width:380px;height:640px;max-height:calc(100vh - 32px);background:#fff;border:1px solid #8a8a8a;border-radius:12px;overflow:hidden;box-shadow:0 4px 24px rgba(0,0,0,.3)}
.mg-head{display:flex;align-items:center;gap:8px;padding:8px;background:#f3f1ec;border-bottom:1px solid #d5d0c4}
.mg-title{flex:1;color:#222;font-weight:700;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
iframe{flex:1;width:100%;border:0;background:#fff}
.mg-cover{position:fixed;inset:0;z-index:2147483647;background:Canvas;color:CanvasText;padding:16px}
.mg-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
@media (max-width:480px){.mg-panel{inset:0;width:auto;height:auto;max-height:none;border:0;border-radius:0}}
@media print{.mg-bar,.mg-panel{display:none!important}}
`

const $script = document.currentScript
const data = ($script && $script.dataset) || {}
const origin = $script ? new URL($script.src, location.href).origin : ''
const lang = /^en/.test(data.lang || document.documentElement.lang) ? 'en' : 'ja'
const T = STRINGS[lang]

let $host, $bar, $launch, $badge, $panel, $cover, $live, $frame
let exiting = false
let navigated = false
let hiddenByExit = []
let titleBeforeExit = ''

function el (tag, cls, text) {
  const $el = document.createElement(tag)
  if (cls) $el.className = cls
  if (text) $el.textContent = text
  return $el
}

function exitLink () {
  // A real link: it still leads somewhere safe if our click handler never runs.
  const $a = el('a', 'mg-exit', T.exit)
  $a.href = EXIT_URL
  $a.rel = 'nofollow noreferrer'
  $a.addEventListener('click', (event) => {
    event.preventDefault()
    quickExit()
  })
  return $a
}

function chatUrl () {
  const query = new URLSearchParams({ lang })
  if (data.partner) query.set('partner', data.partner)
  if (data.desk) query.set('desk', data.desk)
  // The fragment never reaches the server; it tells the page that this loader frames it.
  return `${origin}/chat?${query}#embedded`
}

function mount () {
  // A custom element: host rules written for div or section do not match it, and inline
  // !important declarations (allowed by any CSP, unlike style attributes in markup) win over
  // whatever a hostile stylesheet says about the element itself.
  $host = document.createElement('mg-widget')
  $host.style.setProperty('all', 'initial', 'important')
  const root = $host.attachShadow({ mode: 'open' })
  if (root.adoptedStyleSheets && window.CSSStyleSheet && 'replaceSync' in CSSStyleSheet.prototype) {
    // Constructed sheets need no 'unsafe-inline' in the partner's style-src.
    const sheet = new CSSStyleSheet()
    sheet.replaceSync(CSS)
    root.adoptedStyleSheets = [sheet]
  } else {
    root.appendChild(el('style', '', CSS))
  }

  $bar = el('div', data.position === 'left' ? 'mg-bar mg-left' : 'mg-bar')
  $launch = el('button', 'mg-launch', data.label || T.open)
  $launch.type = 'button'
  $launch.setAttribute('aria-expanded', 'false')
  $badge = el('span', 'mg-badge')
  $badge.hidden = true
  $launch.appendChild($badge)
  $launch.addEventListener('click', open)
  // The exit comes first, in visual and in keyboard order (safety.md A1).
  $bar.append(exitLink(), $launch)

  $panel = el('div', data.position === 'left' ? 'mg-panel mg-left' : 'mg-panel')
  $panel.setAttribute('role', 'region')
  $panel.setAttribute('aria-label', T.title)
  $panel.hidden = true
  const $head = el('div', 'mg-head')
  const $close = el('button', 'mg-close', T.close)
  $close.type = 'button'
  $close.addEventListener('click', close)
  // The panel's own header keeps an exit even when the chat inside cannot load.
  $head.append(exitLink(), el('span', 'mg-title', T.title), $close)
  $panel.appendChild($head)

  $live = el('div', 'mg-sr')
  $live.setAttribute('aria-live', 'polite')
  $cover = el('div', 'mg-cover', T.leaving)
  $cover.setAttribute('role', 'alert')
  $cover.hidden = true

  root.append($bar, $panel, $live, $cover)
  // First in the body, so the exit is also first in the host page's tab order.
  document.body.insertBefore($host, document.body.firstChild)
}

function post (message) {
  // An exact target origin: if the frame was navigated elsewhere, the message is dropped.
  if ($frame && $frame.contentWindow) $frame.contentWindow.postMessage(message, origin)
}

function open () {
  if (!$host || exiting) return
  if (!$frame) {
    $frame = el('iframe')
    $frame.title = T.title
    $frame.referrerPolicy = 'no-referrer'
    $frame.src = chatUrl()
    $frame.addEventListener('load', () => {
      post({ type: 'madoguchi:hello' })
      if (!$panel.hidden) post({ type: 'madoguchi:open' })
    })
    $panel.appendChild($frame)
  }
  $panel.hidden = false
  $bar.hidden = true
  $launch.setAttribute('aria-expanded', 'true')
  $frame.focus()
  post({ type: 'madoguchi:open' })
}

function close () {
  if (!$host || $panel.hidden) return
  $panel.hidden = true
  $bar.hidden = false
  $launch.setAttribute('aria-expanded', 'false')
  $launch.focus()
  post({ type: 'madoguchi:close' })
}

function setUnread (count) {
  $badge.textContent = count > 0 ? T.unread(count) : ''
  $badge.hidden = !(count > 0)
}

function quickExit () {
  if (exiting) return
  exiting = true
  if ($host) {
    // Blank everything at once; on a slow connection the next page may take a while. Hidden
    // with display:none and inert, so neither screen readers nor Tab reach the old content.
    $cover.hidden = false
    $bar.hidden = true
    $panel.hidden = true
    for (const $child of Array.from(document.body.children)) {
      if ($child === $host) continue
      hiddenByExit.push([$child, $child.style.getPropertyValue('display'), $child.inert])
      $child.style.setProperty('display', 'none', 'important')
      $child.inert = true
    }
  }
  titleBeforeExit = document.title
  document.title = ''
  dropReferrer(document)
  if ($frame) {
    // Let the chat wipe its token and say goodbye to the server; it answers at once (it does
    // not wait for the server), and we leave anyway if it cannot answer.
    post({ type: 'madoguchi:wipe' })
    setTimeout(navigate, 150)
  } else {
    navigate()
  }
}

function navigate () {
  if (!exiting || navigated) return
  navigated = true
  // replace: Back does not return to this page (safety.md A6).
  location.replace(EXIT_URL)
}

// Back from the exit page may restore this page from the back/forward cache: show it clean,
// with the chat gone rather than as it was (GOV.UK resetPage).
function resetAfterExit () {
  exiting = navigated = false
  for (const [$child, display, inert] of hiddenByExit) {
    $child.style.setProperty('display', display)
    $child.inert = inert
  }
  hiddenByExit = []
  document.title = titleBeforeExit
  if ($frame) $frame.remove()
  $frame = null
  setUnread(0)
  $cover.hidden = true
  $panel.hidden = true
  $bar.hidden = false
}

function onMessage (event) {
  // Only our own frame, from our own origin, and only the few UI signals below.
  if (!$frame || event.origin !== origin || event.source !== $frame.contentWindow) return
  const message = event.data
  if (!message || typeof message !== 'object') return
  if (message.type === 'madoguchi:quick-exit') quickExit()
  else if (message.type === 'madoguchi:wiped') navigate()
  else if (message.type === 'madoguchi:unread' && typeof message.count === 'number') setUnread(message.count)
}

// A page that includes the script twice gets one launcher and one set of listeners.
if (!window.Madoguchi && $script) {
  window.Madoguchi = Object.freeze({ open, close, quickExit })
  window.addEventListener('message', onMessage)
  window.addEventListener('pageshow', (event) => {
    if (event.persisted && exiting && $host) resetAfterExit()
  })
  watchShift(document, quickExit, (n) => {
    if ($live) $live.textContent = n ? T.more(3 - n) : T.expired
  })
  if (document.body) mount()
  else document.addEventListener('DOMContentLoaded', mount)
}
