// Available (対応可能) or away (離席中): the account's own state, chosen in the top bar. It is the
// account's, not the tab's: the server tells every tab of it ('availability'), this one included,
// so all agree. Until the server has said which, the choice stays hidden (it could not be kept).

const ACK_TIMEOUT_MS = 8000

export function createAvailability ({ socket, T, setBanner }) {
  const $group = document.querySelector('.mg-js-availability')
  const $choices = $group ? Array.from($group.querySelectorAll('input[type="radio"]')) : []
  let away = false

  function draw () {
    for (const $choice of $choices) $choice.checked = ($choice.value === 'away') === away
    if ($group) {
      $group.classList.toggle('mg-availability--away', away)
      $group.hidden = false
    }
  }

  for (const $choice of $choices) {
    $choice.addEventListener('change', () => {
      if (!$choice.checked) return
      socket.timeout(ACK_TIMEOUT_MS).emit('availability', { state: $choice.value }, (err, ack) => {
        if (err || !ack.ok) setBanner(T.failedAction)
        else away = ack.state === 'away'
        draw() // back to what the server holds, if it refused
      })
    })
  }

  socket.on('availability', (payload) => {
    away = payload.state === 'away'
    draw()
  })

  return {
    // An away account hears no new-chat alert: it is not taking chats.
    away: () => away
  }
}
