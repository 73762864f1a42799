// The "staying safe online" page: its exit link and the Shift×3 shortcut, as in the chat.
import { EXIT_URL, dropReferrer, watchShift } from './exit.js'

const $exit = document.querySelector('.mg-js-exit')
const $live = document.querySelector('.mg-js-live')

function quickExit () {
  document.body.textContent = ''
  document.title = ''
  dropReferrer(document)
  location.replace(($exit && $exit.href) || EXIT_URL)
}

if ($exit) {
  $exit.addEventListener('click', (event) => {
    event.preventDefault()
    quickExit()
  })
}
watchShift(document, quickExit, (n) => {
  if ($live) $live.textContent = $live.dataset[n ? `shift${3 - n}` : 'expired']
})
