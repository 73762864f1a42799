// Messages we sent that the server has not acknowledged yet, shared by the chat page and the inbox.
//
// Each message keeps its client_id for life. The server stores a resend of the same client_id once
// and answers it with the same seq, so retrying after a timeout or a reconnect never duplicates a
// message, and a message is only "sent" once the server has committed it.

// Long enough for a slow mobile connection, short enough that a lost ack is retried soon.
const ACK_TIMEOUT_MS = 8000
// Worth another try later; any other refusal (closed, too long) would fail again.
const RETRYABLE = new Set(['rate_limited', 'internal_error'])

export function newClientId () {
  // randomUUID needs a secure context; getRandomValues does not.
  if (window.crypto.randomUUID) return window.crypto.randomUUID()
  const bytes = window.crypto.getRandomValues(new Uint8Array(16))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

// payload(item) → the `message` event's data; ready(item) → may it be sent now;
// onSent(item, ack) once with the server's seq; onFailed(item, code) when it never will be.
export function createOutbox (socket, { payload, ready, onSent, onFailed }) {
  const items = new Map()

  function attempt (item) {
    clearTimeout(item.timer)
    // Not while offline: socket.io would buffer the emit and send it again on reconnect, next to
    // our own resend. flush() sends everything when the connection is back.
    if (!socket.connected || !ready(item)) return
    const attemptNo = ++item.tries
    socket.timeout(ACK_TIMEOUT_MS).emit('message', payload(item), (err, ack) => {
      if (!items.has(item.clientId)) return
      if (!err && ack && ack.ok) {
        settle(item.clientId, ack)
        return
      }
      if (attemptNo !== item.tries) return
      const code = !err && ack && ack.error ? ack.error.code : ''
      if (code && !RETRYABLE.has(code)) {
        drop(item, code)
        return
      }
      item.timer = setTimeout(() => attempt(item), Math.min(1000 * 2 ** attemptNo, 15000))
    })
  }

  function settle (clientId, ack) {
    const item = items.get(clientId)
    if (!item) return
    clearTimeout(item.timer)
    items.delete(clientId)
    onSent(item, ack)
  }

  function drop (item, code) {
    clearTimeout(item.timer)
    items.delete(item.clientId)
    onFailed(item, code)
  }

  return {
    send (fields) {
      const item = { ...fields, clientId: newClientId(), tries: 0, timer: 0 }
      items.set(item.clientId, item)
      attempt(item)
      return item
    },
    flush () {
      for (const item of items.values()) attempt(item)
    },
    // The message came back (history, another tab) before its ack: it is stored.
    settle,
    failWhere (predicate, code) {
      for (const item of Array.from(items.values())) if (predicate(item)) drop(item, code)
    }
  }
}
