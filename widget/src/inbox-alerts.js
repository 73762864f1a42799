// Telling a counselor that something needs them: a soft sound, a desktop notification and a
// count in the tab's title, each of which can be turned off (kept per account on this device).
// A desktop notification never carries a visitor's words: it may show on a shared screen.

export function createAlerts ({ userId, title, T }) {
  const key = `mg-inbox-prefs:${userId}`
  const prefs = { sound: true, desktop: true, badge: true }
  try {
    Object.assign(prefs, JSON.parse(window.localStorage.getItem(key) || '{}'))
  } catch (e) {}
  let audio = null
  let count = 0

  const $toggles = Array.from(document.querySelectorAll('.mg-js-pref'))
  // The state twice: aria-pressed for assistive technology, "オン"/"オフ" for the eye (the
  // visible word is hidden from the accessible name, which stays the setting's name).
  function drawToggles () {
    for (const $t of $toggles) {
      const on = Boolean(prefs[$t.dataset.pref])
      $t.setAttribute('aria-pressed', String(on))
      let $state = $t.querySelector('.mg-toggle-state')
      if (!$state) {
        $state = document.createElement('span')
        $state.className = 'mg-toggle-state'
        $state.setAttribute('aria-hidden', 'true')
        $t.appendChild($state)
      }
      $state.textContent = on ? T.on : T.off
    }
  }
  for (const $t of $toggles) {
    $t.addEventListener('click', () => {
      const name = $t.dataset.pref
      prefs[name] = !prefs[name]
      if (name === 'desktop' && prefs.desktop && window.Notification && window.Notification.permission === 'default') {
        window.Notification.requestPermission()
      }
      try { window.localStorage.setItem(key, JSON.stringify(prefs)) } catch (e) {}
      drawToggles()
      drawTitle()
    })
  }
  drawToggles()

  function chime (urgent) {
    if (!prefs.sound) return
    const Ctx = window.AudioContext || window.webkitAudioContext
    if (!Ctx) return
    try {
      audio = audio || new Ctx()
      const now = audio.currentTime
      const notes = urgent ? [880, 660, 880] : [660, 880]
      notes.forEach((freq, i) => {
        const osc = audio.createOscillator()
        const gain = audio.createGain()
        osc.frequency.value = freq
        gain.gain.value = 0.08 // quiet: counselors hear it for hours
        osc.connect(gain)
        gain.connect(audio.destination)
        osc.start(now + i * 0.18)
        osc.stop(now + i * 0.18 + 0.15)
      })
    } catch (e) {}
  }

  function desktop (text) {
    if (!prefs.desktop || !window.Notification || window.Notification.permission !== 'granted') return
    if (!document.hidden && document.hasFocus()) return
    try {
      // A fixed, generic text: never a message, a name or a code word.
      const note = new window.Notification(title, { body: text, tag: 'madoguchi' })
      note.onclick = () => { window.focus(); note.close() }
    } catch (e) {}
  }

  function drawTitle () {
    document.title = prefs.badge && count > 0 ? `(${count}) ${title}` : title
  }

  return {
    notify (kind) {
      const text = kind === 'visitor' ? T.notifyVisitor : kind === 'urgent' ? T.notifyUrgent : T.notifyMessage
      chime(kind === 'urgent')
      desktop(text)
    },
    setCount (n) {
      count = n
      drawTitle()
    }
  }
}
