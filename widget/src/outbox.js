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
  // Engine.IO refuses a long-polling request that carries more than 16 packets, and the server's
  // rate limit allows bursts of 20: after a reconnect, resend a few at a time, oldest first.
  const MAX_IN_FLIGHT = 8
  const inFlight = new Set()

  function attempt (item) {
    clearTimeout(item.timer)
    item.timer = 0
    // Not while offline: socket.io would buffer the emit and send it again on reconnect, next to
    // our own resend. flush() sends everything when the connection is back.
    if (!socket.connected || !ready(item) || inFlight.has(item.clientId)) return
    if (inFlight.size >= MAX_IN_FLIGHT) return // pump() sends it when a slot frees
    inFlight.add(item.clientId)
    const attemptNo = ++item.tries
    socket.timeout(ACK_TIMEOUT_MS).emit('message', payload(item), (err, ack) => {
      // A later attempt (after a reconnect) owns the slot now.
      if (attemptNo !== item.tries) return
      inFlight.delete(item.clientId)
      if (items.has(item.clientId)) answered(item, err, ack)
      pump()
    })
  }

  function answered (item, err, ack) {
    if (!err && ack && ack.ok) {
      settle(item.clientId, ack)
      return
    }
    const code = !err && ack && ack.error ? ack.error.code : ''
    if (code && !RETRYABLE.has(code)) {
      drop(item, code)
      return
    }
    item.timer = setTimeout(() => attempt(item), Math.min(1000 * 2 ** item.tries, 15000))
  }

  function pump () {
    for (const item of items.values()) {
      if (inFlight.size >= MAX_IN_FLIGHT) return
      if (!item.timer) attempt(item)
    }
  }

  function settle (clientId, ack) {
    const item = items.get(clientId)
    if (!item) return
    clearTimeout(item.timer)
    items.delete(clientId)
    inFlight.delete(clientId)
    onSent(item, ack)
    pump()
  }

  function drop (item, code) {
    clearTimeout(item.timer)
    items.delete(item.clientId)
    inFlight.delete(item.clientId)
    onFailed(item, code)
  }

  return {
    send (fields) {
      const item = { ...fields, clientId: newClientId(), tries: 0, timer: 0 }
      items.set(item.clientId, item)
      attempt(item)
      return item
    },
    // After a reconnect: what was in flight on the old connection is resent at once.
    flush () {
      inFlight.clear()
      for (const item of items.values()) {
        clearTimeout(item.timer)
        item.timer = 0
      }
      pump()
    },
    // The message came back (history, another tab) before its ack: it is stored.
    settle,
    failWhere (predicate, code) {
      for (const item of Array.from(items.values())) if (predicate(item)) drop(item, code)
    }
  }
}
