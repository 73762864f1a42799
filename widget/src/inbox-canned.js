// Canned responses, inserted by shortcut: "/" at the start of an empty reply opens the list,
// what follows filters it, ↑/↓ choose, Enter or Tab inserts, Escape closes. The button opens it
// too. The texts come from the page (rendered by the server), read as text, never as HTML.
import { h } from './thread.js'

export function createCanned ({ $text, $list, $button, deskOf, T }) {
  const all = Array.from(document.querySelectorAll('#mg-canned-data li')).map(($li) => ({
    title: $li.dataset.title || '',
    body: $li.dataset.body || '',
    desk: $li.dataset.desk || ''
  }))
  let shown = []
  let active = 0
  let fromButton = false

  function matches (query) {
    const desk = deskOf()
    const q = query.toLowerCase()
    const found = all.filter((c) => (!c.desk || c.desk === desk) &&
      (!q || c.title.toLowerCase().includes(q) || c.body.toLowerCase().includes(q)))
    // Titles that start with what was typed come first.
    return found.filter((c) => c.title.toLowerCase().startsWith(q))
      .concat(found.filter((c) => !c.title.toLowerCase().startsWith(q)))
  }

  function draw () {
    $list.replaceChildren(...shown.map((c, i) => {
      const $li = h('li', 'mg-canned-item')
      $li.id = `mg-canned-${i}`
      $li.setAttribute('role', 'option')
      $li.setAttribute('aria-selected', String(i === active))
      $li.append(h('span', 'mg-canned-title', c.title), h('span', 'mg-canned-body', c.body))
      $li.addEventListener('mousedown', (event) => {
        event.preventDefault()
        insert(c)
      })
      return $li
    }))
    if (!shown.length) $list.appendChild(h('li', 'mg-canned-none', T.noCanned))
    $list.hidden = false
    // No aria-expanded: a textarea may only be a textbox, which has no such state (axe-core
    // aria-allowed-attr); the active option is announced through aria-activedescendant.
    if (shown.length) $text.setAttribute('aria-activedescendant', `mg-canned-${active}`)
  }

  function close () {
    $list.hidden = true
    shown = []
    fromButton = false
    $text.removeAttribute('aria-activedescendant')
  }

  function insert (canned) {
    if (fromButton) {
      const at = $text.selectionStart ?? $text.value.length
      $text.value = $text.value.slice(0, at) + canned.body + $text.value.slice(at)
    } else {
      $text.value = canned.body
    }
    close()
    $text.focus()
    $text.setSelectionRange($text.value.length, $text.value.length)
  }

  function update () {
    const value = $text.value
    if (fromButton) return
    if (value.startsWith('/') && !value.includes('\n')) {
      shown = matches(value.slice(1))
      active = Math.min(active, Math.max(0, shown.length - 1))
      draw()
    } else if (!$list.hidden) {
      close()
    }
  }

  $text.addEventListener('input', update)
  $text.addEventListener('blur', () => setTimeout(close, 150))
  // Registered before the composer's own Enter handler, so Enter picks a response instead.
  $text.addEventListener('keydown', (event) => {
    if ($list.hidden) return
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault()
      if (!shown.length) return
      active = (active + (event.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length
      draw()
    } else if ((event.key === 'Enter' || event.key === 'Tab') && !event.isComposing && shown.length) {
      event.preventDefault()
      event.stopImmediatePropagation()
      insert(shown[active])
    } else if (event.key === 'Escape') {
      event.preventDefault()
      event.stopImmediatePropagation()
      close()
    }
  })
  $button.addEventListener('click', () => {
    fromButton = true
    shown = matches('')
    active = 0
    draw()
    $text.focus()
  })

  return { close }
}
