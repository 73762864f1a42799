// Socket.IO clients as the widget and the inbox open them: websocket only, one connection per
// namespace (forceNew, or socket.io-client would multiplex both namespaces onto one socket).
import { io } from 'socket.io-client'

const CONNECT_TIMEOUT_MS = 15000
const CALL_TIMEOUT_MS = 15000

export function connect (url, namespace, { auth, cookie } = {}) {
  const socket = io(url + namespace, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: CONNECT_TIMEOUT_MS,
    auth,
    extraHeaders: cookie ? { Cookie: cookie } : undefined
  })
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket))
    socket.once('connect_error', (err) => {
      socket.close()
      reject(new Error(`connect ${namespace}: ${err.message} ${JSON.stringify(err.data ?? '')}`))
    })
  })
}

/** Emit with an acknowledgement; anything but `{ok: true}` is an error. */
export async function call (socket, event, data) {
  const ack = await socket.timeout(CALL_TIMEOUT_MS).emitWithAck(event, data)
  if (!ack || ack.ok !== true) throw new Error(`${event} refused: ${JSON.stringify(ack)}`)
  return ack
}

/** Run fn(0..count-1) with at most `width` calls in flight; results in index order. */
export async function inBatches (count, width, fn) {
  const results = new Array(count)
  let next = 0
  async function worker () {
    while (next < count) {
      const i = next++
      results[i] = await fn(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker))
  return results
}
