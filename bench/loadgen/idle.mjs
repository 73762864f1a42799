// Memory per idle visitor connection: the server's RSS before and after opening `count` visitor
// sockets that connect (with the demo partner, like the widget) and then say nothing.
import { performance } from 'node:perf_hooks'
import { connect, inBatches } from './clients.mjs'
import { rssKiB, sleep, summarize } from './proc.mjs'

// Enough sockets to load every lazily imported module of the connect path before the baseline.
const WARMUP_SOCKETS = 50
// Connects in flight at once: well under uvicorn's listen backlog (2048).
const CONNECT_WIDTH = 50
// Time for the server to finish the connects' bookkeeping before its RSS is read.
const SETTLE_MS = 2000

function openVisitor (target) {
  const t = performance.now()
  return connect(target.url, '/visitor', { auth: { partner: 'demo' } }).then(
    (socket) => ({ socket, ms: performance.now() - t }),
    (err) => ({ error: err.message })
  )
}

export async function runIdle (target, count) {
  const warm = await inBatches(WARMUP_SOCKETS, CONNECT_WIDTH, () => openVisitor(target))
  for (const { socket } of warm) socket?.close()
  await sleep(SETTLE_MS)
  const before = rssKiB(target.pid)

  const t0 = performance.now()
  const opened = await inBatches(count, CONNECT_WIDTH, () => openVisitor(target))
  const connectSeconds = (performance.now() - t0) / 1000
  const sockets = opened.filter((o) => o.socket)
  const errors = opened.filter((o) => o.error).map((o) => o.error)
  await sleep(SETTLE_MS)
  const after = rssKiB(target.pid)

  for (const { socket } of sockets) socket.close()
  return {
    target: target.name,
    connections: sockets.length,
    failed: errors.length,
    first_error: errors[0] ?? null,
    connect_seconds: connectSeconds,
    connect_ms: summarize(sockets.map((o) => o.ms)),
    rss_before_kib: before,
    rss_after_kib: after,
    kib_per_connection: sockets.length ? (after - before) / sockets.length : null
  }
}
