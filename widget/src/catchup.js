// Keeps one conversation's thread whole, for the chat page and the inbox alike.
//
// Socket.IO delivers at most once: a message can miss the screen, lost on the way or sent while
// we were offline. So whenever the thread holds a seq beyond its contiguous run from 1, and
// whenever the connection is back, this reads what follows the contiguous run with `history`
// and hands it over in seq order; the thread ignores the seqs it already has. One request per
// conversation at a time: a gap noticed meanwhile is looked at again once the answer is in.

const ACK_TIMEOUT_MS = 8000
const RETRY_MS = 2000
// Worth asking again later; any other refusal (not_found) would be refused again.
const RETRYABLE = new Set(['rate_limited', 'internal_error'])

// payload(afterSeq) → the `history` event's data; apply(messages, fromSeq) shows one page, fromSeq
// being where this catch-up began (0: the whole conversation); done(ack) after the last page.
export function createCatchUp (socket, thread, { payload, apply, done }) {
  let busy = false
  let again = false
  // Bumped by reset(): answers to requests made before it are dropped.
  let epoch = 0

  function fetch (after, from) {
    const asked = epoch
    busy = true
    again = false
    socket.timeout(ACK_TIMEOUT_MS).emit('history', payload(after), (err, ack) => {
      if (asked !== epoch) return
      if (err || !ack.ok) {
        busy = false
        // After a disconnect the next connect asks again; socket.io fails our ack at once.
        if (socket.connected && (err || RETRYABLE.has(ack.error.code))) setTimeout(run, RETRY_MS)
        return
      }
      apply(ack.messages, from)
      const last = ack.messages[ack.messages.length - 1]
      if (ack.more && last) {
        fetch(last.seq, from)
        return
      }
      busy = false
      done(ack)
      if (again) check()
    })
  }

  // Everything after the contiguous run (all of it the first time).
  function run () {
    if (busy) again = true
    // Offline, socket.io would buffer the request; the connect handler asks afresh instead.
    else if (socket.connected) fetch(thread.contiguous, thread.contiguous)
  }

  // Only if something is missing: call it after a message came in live or as an ack.
  function check () {
    if (thread.lastSeq > thread.contiguous) run()
  }

  return {
    run,
    check,
    // The thread was cleared: what was asked for before does not belong on it.
    reset () {
      epoch += 1
      busy = again = false
    }
  }
}
