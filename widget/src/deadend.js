// The pages that stand where a chat cannot open: an unknown or disabled partner, an ended or
// unknown campaign. They have no conversation, but the same quick exit as the chat: the button,
// Shift×3, and inside the loader's panel the same messages with the host page.
import { EXIT_URL, leaveNow, watchShift } from './exit.js'

const $exit = document.querySelector('.mg-js-exit')
const $live = document.querySelector('.mg-js-live')
// Framed by our loader, whose panel header already holds the exit and the title.
const embedded = location.hash === '#embedded' && window.parent !== window
const exitUrl = ($exit && $exit.href) || EXIT_URL
let parentOrigin = ''

function tellParent (message) {
  if (embedded && parentOrigin) window.parent.postMessage(message, parentOrigin)
}

function wipe () {
  document.body.textContent = ''
  document.title = ''
}

function quickExit () {
  wipe()
  leaveNow(exitUrl, embedded, parentOrigin)
}

if (embedded) {
  const $top = document.querySelector('.mg-js-top')
  if ($top) $top.remove()
}
if ($exit) {
  $exit.addEventListener('click', (event) => {
    event.preventDefault()
    quickExit()
  })
}

// Language links: one history entry for the page, in the frame too.
for (const $a of document.querySelectorAll('.mg-js-lang')) {
  $a.addEventListener('click', (event) => {
    event.preventDefault()
    location.replace($a.href + (embedded ? '#embedded' : ''))
  })
}

window.addEventListener('message', (event) => {
  if (!embedded || event.source !== window.parent) return
  const message = event.data
  if (!message || typeof message !== 'object') return
  // The frame-ancestors policy admits only the partner's pages as our parent.
  if (message.type === 'madoguchi:hello' && !parentOrigin) {
    parentOrigin = event.origin
    tellParent({ type: 'madoguchi:exit-url', url: exitUrl })
  }
  if (event.origin !== parentOrigin) return
  if (message.type === 'madoguchi:wipe') {
    wipe()
    tellParent({ type: 'madoguchi:wiped' })
  }
})

// Back into this page from the back/forward cache after an exit: never the old screen.
window.addEventListener('pageshow', (event) => {
  if (event.persisted && !document.body.firstChild) location.reload()
})

watchShift(document, quickExit, (n) => {
  if ($live) $live.textContent = $live.dataset[n ? `shift${3 - n}` : 'expired']
})
