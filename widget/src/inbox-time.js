// Times as staff read them, in Japan time whatever the computer's zone: the rules of
// service/domain/jst.py, which renders the same on the server's pages (tests pin the two).
// Today: "21:00"; this year: "12月3日（木）21:00" / "Thu 3 Dec 21:00"; another year:
// "2025年12月3日（水）21:00" / "Wed 3 Dec 2025 21:00". The tooltip has the exact time.
const WEEKDAYS_JA = ['日', '月', '火', '水', '木', '金', '土']
const WEEKDAYS_EN = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const MONTHS_EN = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

const TOKYO = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
  hourCycle: 'h23'
})

// The Tokyo wall clock of a Date: { year, month, day, hour, minute, second, weekday (0 = Sun) }.
function tokyo (date) {
  const parts = {}
  for (const part of TOKYO.formatToParts(date)) parts[part.type] = Number(part.value)
  // The weekday of the Tokyo date, from the calendar itself (no zone involved).
  parts.weekday = new Date(Date.UTC(parts.year, parts.month - 1, parts.day)).getUTCDay()
  return parts
}

const two = (n) => String(n).padStart(2, '0')

// "" for anything that is not a time.
export function humanTime (iso, now = new Date(), lang = 'ja') {
  const date = new Date(iso)
  if (!iso || isNaN(date)) return ''
  const t = tokyo(date)
  const today = tokyo(now)
  const clock = `${two(t.hour)}:${two(t.minute)}`
  if (t.year === today.year && t.month === today.month && t.day === today.day) return clock
  const otherYear = t.year !== today.year
  if (lang === 'en') {
    return `${WEEKDAYS_EN[t.weekday]} ${t.day} ${MONTHS_EN[t.month - 1]}${otherYear ? ` ${t.year}` : ''} ${clock}`
  }
  return `${otherYear ? `${t.year}年` : ''}${t.month}月${t.day}日（${WEEKDAYS_JA[t.weekday]}）${clock}`
}

// The exact time with its offset: "2026-12-03T21:00:51+09:00".
export function fullTime (iso) {
  const date = new Date(iso)
  if (!iso || isNaN(date)) return ''
  const t = tokyo(date)
  return `${t.year}-${two(t.month)}-${two(t.day)}T${two(t.hour)}:${two(t.minute)}:${two(t.second)}+09:00`
}

// A <time> element: the readable text, the machine time in datetime, the exact one on hover.
export function timeElement (iso, lang = 'ja', now = new Date()) {
  const $time = document.createElement('time')
  $time.dateTime = iso
  $time.title = fullTime(iso)
  $time.textContent = humanTime(iso, now, lang)
  return $time
}
