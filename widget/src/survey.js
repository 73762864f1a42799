// After the end: the optional code word and the optional, skippable survey.
// Neither is ever required; a failure says so and lets the visitor go on.

// send(event, payload, done(ok, code)) emits on the chat's socket with an acknowledgement.
export function wireCodeWord ($form, $said, T, send) {
  const $input = $form.querySelector('input')
  $form.addEventListener('submit', (event) => {
    event.preventDefault()
    const word = $input.value.trim()
    if (!word) {
      $said.textContent = T.code_failed
      return
    }
    send('code_word', { word }, (ok) => {
      // Off the screen once saved: someone looking later should not read it there.
      if (ok) $input.value = ''
      $said.textContent = ok ? T.code_saved : T.code_failed
    })
  })
}

export function wireSurvey ($form, $thanks, T, send, onSkip) {
  const thanks = $thanks.textContent
  const say = (text) => {
    $thanks.textContent = text
    $thanks.hidden = false
    $thanks.focus()
  }
  const finish = () => {
    $form.hidden = true
    say(thanks)
  }
  $form.addEventListener('submit', (event) => {
    event.preventDefault()
    const fields = $form.elements
    const answer = {}
    if (fields.rating.value) answer.rating = Number(fields.rating.value)
    if (fields.helpful.value) answer.helpful = fields.helpful.value === 'yes'
    const comment = fields.comment.value.trim()
    if (comment) answer.comment = comment
    if (!Object.keys(answer).length) {
      finish()
      return
    }
    send('survey', answer, (ok, code) => {
      if (ok || code === 'already_answered') finish()
      else say(T.survey_failed)
    })
  })
  $form.querySelector('.mg-js-skip').addEventListener('click', () => {
    $form.hidden = true
    onSkip()
  })
  return {
    reset () {
      $form.reset()
      $form.hidden = false
      $thanks.hidden = true
      $thanks.textContent = thanks
    }
  }
}
