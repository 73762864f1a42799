// Counselor training in the inbox: the count of unread feedback on the menu's 研修 link, the
// note beside a practice chat's title (how it is played and its scenario's title, never what
// to practise: the trainee reads that with the review), and opening the scripted chat that
// the training page just started (its id comes as the page's #fragment).
//
// Both answers come from /inbox/training (service/http/training.py) as JSON, with the login
// cookie; a chat the counselor may not read answers 404 and shows no note.

const CONVERSATION_ID = /^[A-Za-z0-9_-]{16,64}$/

export function createTraining ({ T, onChange }) {
  const notes = new Map() // conversation id → note text, '' (none), or null (being asked)
  let wanted = CONVERSATION_ID.test(location.hash.slice(1)) ? location.hash.slice(1) : null

  async function getJson (path) {
    const response = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    return response.ok ? response.json() : null
  }

  // The menu link's badge; a failed fetch leaves the link as it is.
  async function showUnread () {
    const $link = document.getElementById('mg-nav-training')
    if (!$link) return
    let answer = null
    try {
      answer = await getJson('/inbox/training/unread')
    } catch {
      return
    }
    for (const $old of $link.querySelectorAll('.mg-nav-count, .mg-nav-count-sr')) $old.remove()
    if (!answer || !answer.count) return
    const $count = document.createElement('span')
    $count.className = 'mg-nav-count'
    $count.setAttribute('aria-hidden', 'true')
    $count.textContent = String(answer.count)
    const $said = document.createElement('span')
    $said.className = 'mg-sr mg-nav-count-sr'
    $said.textContent = T.training.unread(answer.count)
    $link.append(' ', $count, $said)
  }

  // The note for a practice chat: known, or asked once (the answer re-renders the title).
  function note (id) {
    if (notes.has(id)) return notes.get(id) || ''
    notes.set(id, null)
    getJson(`/inbox/training/chat/${encodeURIComponent(id)}`)
      .then((info) => {
        notes.set(id, info ? T.training.practiceOf(T.training.modes[info.mode] || info.mode, info.scenario || T.training.noScenario) : '')
        onChange(id)
      })
      .catch(() => notes.delete(id))
    return ''
  }

  // Once the queue holds the chat the training page started, open it, once.
  function openWanted (queue, open) {
    if (!wanted || !queue.some((item) => item.id === wanted && item.mine)) return
    const id = wanted
    wanted = null
    history.replaceState(null, '', location.pathname + location.search)
    open(id)
  }

  return { showUnread, note, openWanted }
}
