// The desk named in the note that nobody is online: the one the chat waits at now. The page is
// drawn with the desk it opened with; a `status` after a transfer to another desk carries that
// desk (`{key, name, hours, phones: [{number, tel}]}`), and its phones replace the old ones.
export function showDesk ($note, desk) {
  const $desk = $note.querySelector('.mg-js-desk')
  $note.querySelector('.mg-js-desk-name').textContent = desk.name
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

// Opening the phone list scrolls it into view: on a short screen the note's region scrolls on
// its own, and the list would open below its fold.
export function wirePhoneList ($note) {
  const $more = $note.querySelector('.mg-js-unstaffed-more')
  $more.addEventListener('toggle', () => {
    if ($more.open) $more.scrollIntoView({ block: 'start' })
  })
}
