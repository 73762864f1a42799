// The one script partner sites embed. It draws a launcher and an always-visible quick
// exit, and makes no request of its own until the visitor opens the chat: a partner's visitors
// who never open it leave no trace with us. The conversation itself runs in an iframe served from
// our origin, so the host page can never read it; only UI signals cross, never message text.
import STRINGS from 'mg-i18n:loader'
import { EXIT_URL, dropReferrer, watchShift } from './exit.js'
import { chooseLang, fill, strings } from './i18n.js'

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
const lang = chooseLang(STRINGS, data.lang || document.documentElement.lang)
const T = strings(STRINGS, lang)

// Only http(s): a javascript: URL here would run on the partner's page.
function safeUrl (value) {
  if (!value) return ''
  try {
    const url = new URL(value, location.href)
    return /^https?:$/.test(url.protocol) ? url.href : ''
  } catch {
    return ''
  }
}

// The partner's own neutral page if its tag names one; the chat tells us the one the partner
// set with us once it has loaded (no request of our own before the visitor opens the chat).
let exitUrl = safeUrl(data.exitUrl) || EXIT_URL
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
  $a.href = exitUrl
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
  // A landmark of its own, as the panel is (never shown together): on the host page, a
  // screen reader's list of regions finds the exit and the launcher.
  $bar.setAttribute('role', 'region')
  $bar.setAttribute('aria-label', T.title)
  $launch = el('button', 'mg-launch', data.label || T.open)
  $launch.type = 'button'
  paint($launch, data.color)
  $launch.setAttribute('aria-expanded', 'false')
  $badge = el('span', 'mg-badge')
  $badge.hidden = true
  $launch.appendChild($badge)
  $launch.addEventListener('click', open)
  // The exit comes first, in visual and in keyboard order: the first thing a hurried hand finds.
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

// data-color: the partner's own colour for the launcher (#rgb or #rrggbb), with black or white
// text, whichever contrasts more (WCAG 1.4.3). Set through the CSSOM, which no CSP forbids.
function paint ($button, color) {
  if (!/^#([0-9a-f]{3}){1,2}$/i.test(color || '')) return
  const hex = color.length === 4 ? color.replace(/[0-9a-f]/gi, '$&$&') : color
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  })
  const light = 0.2126 * r + 0.7152 * g + 0.0722 * b
  $button.style.setProperty('background', color, 'important')
  // White on the colour vs the colour against black: (1.05)/(L+.05) vs (L+.05)/(.05).
  $button.style.setProperty('color', 1.05 / (light + 0.05) >= (light + 0.05) / 0.05 ? '#fff' : '#000', 'important')
}

function setExitUrl (value) {
  const url = safeUrl(value)
  if (!url || !$host) return
  exitUrl = url
  for (const $a of $host.shadowRoot.querySelectorAll('.mg-exit')) $a.href = url
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
  $badge.textContent = count > 0 ? fill(T.unread, { n: count }) : ''
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
  // replace: Back does not return to this page, so nobody can follow the visitor back.
  location.replace(exitUrl)
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
  else if (message.type === 'madoguchi:exit-url' && typeof message.url === 'string') setExitUrl(message.url)
}

// A page that includes the script twice gets one launcher and one set of listeners.
if (!window.Madoguchi && $script) {
  window.Madoguchi = Object.freeze({ open, close, quickExit })
  window.addEventListener('message', onMessage)
  window.addEventListener('pageshow', (event) => {
    if (event.persisted && exiting && $host) resetAfterExit()
  })
  watchShift(document, quickExit, (n) => {
    if ($live) $live.textContent = n ? T[`shift_${3 - n}`] : T.expired
  })
  if (document.body) mount()
  else document.addEventListener('DOMContentLoaded', mount)
}
