// Quick exit, shared by the loader (host page) and the chat page (inside the iframe). A keyboard
// listener sees only the document it is attached to, so each side watches its own and the chat
// tells the loader.

// A neutral page that shows nothing personal: a weather forecast raises no question.
export const EXIT_URL = 'https://weather.yahoo.co.jp/weather/'

// GOV.UK "Exit this page": each Shift press must come within 5 s of the previous one.
const PRESS_WINDOW_MS = 5000

// Calls onExit after Shift is pressed alone three times; onCount(n) after each press (n = 1, 2)
// and onCount(0) when the count expires, so a live region can announce progress.
export function watchShift (doc, onExit, onCount) {
  let count = 0
  let timer = 0
  // Shift used as a modifier (Shift+A) is typing, not a press for the shortcut.
  let otherKey = false

  const reset = () => {
    clearTimeout(timer)
    count = 0
  }

  // Capture phase: a page's own handlers cannot swallow the presses before we see them.
  doc.addEventListener('keydown', (event) => {
    if (event.key === 'Shift') {
      otherKey = false
    } else {
      otherKey = true
      reset()
    }
  }, true)

  doc.addEventListener('keyup', (event) => {
    // Shift toggles Japanese IMEs between kana and latin input; while a word is being composed
    // those presses are typing, never an exit (keyCode 229 is what IMEs report mid-composition).
    if (event.isComposing || event.keyCode === 229) {
      reset()
      return
    }
    if (event.key !== 'Shift') return
    if (otherKey) {
      otherKey = false
      return
    }
    count += 1
    clearTimeout(timer)
    if (count >= 3) {
      reset()
      onExit()
      return
    }
    onCount(count)
    timer = setTimeout(() => {
      reset()
      onCount(0)
    }, PRESS_WINDOW_MS)
  }, true)
}

// Tell the destination nothing about where the visitor came from: a policy set on the page just
// before navigating applies to that navigation.
export function dropReferrer (doc) {
  let $meta = doc.querySelector('meta[name="referrer"]')
  if (!$meta) {
    $meta = doc.createElement('meta')
    $meta.name = 'referrer'
    ;(doc.head || doc.documentElement).appendChild($meta)
  }
  $meta.content = 'no-referrer'
}

// Leave for the exit page once the screen is wiped. In the loader's panel, the loader leaves
// the whole partner page when it has said hello; before that the frame leaves the top window
// itself (the click allows it). On its own, the page replaces itself: Back does not return.
export function leaveNow (exitUrl, embedded, parentOrigin) {
  if (embedded && parentOrigin) {
    window.parent.postMessage({ type: 'madoguchi:quick-exit' }, parentOrigin)
  } else if (embedded) {
    try {
      window.top.location.replace(exitUrl)
    } catch {}
  } else {
    dropReferrer(document)
    location.replace(exitUrl)
  }
}
