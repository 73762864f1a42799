// The desk named in the note that nobody is online: the one the chat waits at now. The page is
// drawn with the desk it opened with; a `status` after a transfer to another desk carries that
// desk (`{key, name, name_shown, hours, phones: [{number, tel}]}`), and its phones replace the
// old ones.
export function showDesk ($note, desk) {
  const $desk = $note.querySelector('.mg-js-desk')
  const $name = $note.querySelector('.mg-js-desk-name')
  $name.replaceChildren(desk.name_shown ? drawnName(desk.name_shown) : desk.name)
  $note.querySelector('.mg-js-desk-hours').textContent = desk.hours
  const $list = $note.querySelector('.mg-js-desk-phones')
  $list.replaceChildren(...desk.phones.map((phone) => {
    const $a = document.createElement('a')
    $a.href = phone.tel
    $a.textContent = phone.number
    const $li = document.createElement('li')
    $li.appendChild($a)
    return $li
  }))
  $desk.hidden = desk.phones.length === 0
}

// A name as the server's pages draw it (`{text, reading, lang}`): on やさしい日本語 pages a
// name in kanji comes with its reading over it as furigana, so its reader can say it on the
// phone; a name in another language than the page's is marked as such for screen readers.
// Built node by node: the name is an admin's text, never markup.
function drawnName (shown) {
  if (shown.reading) {
    const $ruby = document.createElement('ruby')
    const $rt = document.createElement('rt')
    $rt.textContent = shown.reading
    $ruby.append(shown.text, $rt)
    return $ruby
  }
  if (shown.lang) {
    const $span = document.createElement('span')
    $span.lang = shown.lang
    $span.textContent = shown.text
    return $span
  }
  return shown.text
}

// Opening the phone list brings it into view: on a short screen the notes' region scrolls on
// its own, and the list would open below its fold. The note's heading (nobody can answer now)
// stays in view above the list when the first number fits below it.
export function wirePhoneList ($note) {
  const $more = $note.querySelector('.mg-js-unstaffed-more')
  const $region = $note.parentElement
  $more.addEventListener('toggle', () => {
    if (!$more.open) return
    const $first = $more.querySelector('.mg-js-desk:not([hidden]) a, .mg-contacts a')
    if (!$first) return
    const top = $region.getBoundingClientRect().top - $region.scrollTop
    const at = ($el) => $el.getBoundingClientRect().top - top
    const fits = $first.getBoundingClientRect().bottom - top - at($note) <= $region.clientHeight
    $region.scrollTop = fits ? at($note) : at($more)
  })
}
