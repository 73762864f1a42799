// The supervisors' live board (the board page only): per desk, who is online with their state and
// load, how many visitors wait and how long the longest has, and the Japan day's counts. The
// server answers 'board' with every desk the supervisor works and then sends one desk at a time
// as it changes ('board_desk'); the longest wait is counted on here, so nothing is asked while
// nothing happens.
import { h } from './thread.js'

const ACK_TIMEOUT_MS = 8000
const TICK_MS = 10000

export function createBoard ({ socket, T, nameOf }) {
  const $list = document.getElementById('mg-desks-list')
  const $loading = document.getElementById('mg-desks-loading')
  if (!$list) return
  const B = T.board
  // desk key → its row, in the order of the server's answer.
  const rows = new Map()

  function minutesSince (iso) {
    return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 60000))
  }

  function figure (label, value, cls) {
    const $div = h('div', cls)
    $div.append(h('dt', null, label), h('dd', null, value))
    return $div
  }

  function longest (row) {
    const $figure = figure(B.longest, row.oldest_waiting_since ? B.minutes(minutesSince(row.oldest_waiting_since)) : B.none)
    if (row.oldest_waiting_since) $figure.querySelector('dd').dataset.since = row.oldest_waiting_since
    return $figure
  }

  function person (counselor) {
    const away = counselor.state === 'away'
    const $li = h('li', `mg-staff mg-staff--${away ? 'away' : 'available'}`)
    const $load = h('span', 'mg-staff-load', B.load(counselor.load, counselor.max_chats))
    $load.setAttribute('aria-hidden', 'true')
    $li.append(
      h('span', 'mg-staff-state', away ? B.away : B.available),
      h('span', 'mg-staff-name', counselor.name),
      $load,
      h('span', 'mg-sr', B.loadLong(counselor.load, counselor.max_chats))
    )
    return $li
  }

  function card (row) {
    const $li = h('li', 'mg-desk')
    $li.classList.toggle('mg-desk--waiting', row.waiting > 0)
    $li.dataset.desk = row.desk
    $li.appendChild(h('h3', null, nameOf('desk', row.desk)))
    const $now = h('dl', 'mg-desk-now')
    $now.append(figure(B.waiting, B.count(row.waiting), 'mg-desk-waiting'), longest(row))
    const $today = h('dl', 'mg-desk-today')
    $today.append(
      figure(B.started, String(row.today.started)),
      figure(B.claimed, String(row.today.claimed)),
      figure(B.closed, String(row.today.closed))
    )
    $li.append($now, h('p', 'mg-desk-label', B.today), $today, h('p', 'mg-desk-label', B.staff))
    if (row.counselors.length) {
      const $staff = h('ul', 'mg-staff-list')
      $staff.append(...row.counselors.map(person))
      $li.appendChild($staff)
    } else {
      $li.appendChild(h('p', 'mg-muted', B.noStaff))
    }
    return $li
  }

  function draw () {
    $loading.hidden = true
    $list.replaceChildren(...Array.from(rows.values()).map(card))
  }

  function ask () {
    socket.timeout(ACK_TIMEOUT_MS).emit('board', {}, (err, ack) => {
      if (err || !ack.ok) return // asked again on the next connect
      rows.clear()
      for (const row of ack.desks) rows.set(row.desk, row)
      draw()
    })
  }

  socket.on('connect', ask)
  socket.on('board_desk', (row) => {
    if (!rows.has(row.desk)) return // a desk this page was not given
    rows.set(row.desk, row)
    draw()
  })

  setInterval(() => {
    for (const $dd of $list.querySelectorAll('dd[data-since]')) $dd.textContent = B.minutes(minutesSince($dd.dataset.since))
  }, TICK_MS)
}
