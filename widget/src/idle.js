// Inactivity: after IDLE_MS without the visitor doing anything, a warning; GRACE_MS later the
// chat closes and its content leaves the screen, so that a chat left open on a shared device
// is not read by whoever picks it up next. WCAG 2.2.1: the warning comes first and any key or tap keeps the chat open.
export const IDLE_MS = 10 * 60 * 1000
export const GRACE_MS = 2 * 60 * 1000

export function watchIdle (doc, { onWarn, onActive, onExpire }) {
  let armed = false
  let warned = false
  let last = Date.now()
  let timer = 0

  function schedule () {
    clearTimeout(timer)
    if (!armed) return
    const idle = Date.now() - last
    if (idle >= IDLE_MS + GRACE_MS) {
      armed = false
      warned = false
      onExpire()
    } else if (idle >= IDLE_MS) {
      if (!warned) onWarn()
      warned = true
      timer = setTimeout(schedule, IDLE_MS + GRACE_MS - idle)
    } else {
      timer = setTimeout(schedule, IDLE_MS - idle)
    }
  }

  function active () {
    last = Date.now()
    if (warned) onActive()
    warned = false
    schedule()
  }

  for (const type of ['keydown', 'pointerdown', 'input']) doc.addEventListener(type, active, true)
  // A phone asleep runs no timers: on waking, what is overdue happens at once.
  doc.addEventListener('visibilitychange', schedule)

  return {
    arm () {
      if (armed) return
      armed = true
      active()
    },
    disarm () {
      armed = false
      if (warned) onActive()
      warned = false
      clearTimeout(timer)
    }
  }
}
