// Visitor/counselor pairs exchanging messages both ways at a fixed offered rate.
//
// Open loop: a pacer issues messages at the offered rate, round robin over every socket, whether
// or not earlier ones were answered, so a slow server shows as latency rather than as a lower
// send rate. Only when a socket already has `maxInFlight` unacknowledged messages is a message
// skipped (counted): at a saturating rate that cap is what keeps the run bounded in memory.
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { call, connect, inBatches } from './clients.mjs'
import { cpuTicks, machineTicks, rssKiB, sleep, summarize, threadTicks } from './proc.mjs'

const VISITOR = 0
const COUNSELOR = 1
// Pairs set up at once. Each set-up claims a conversation, and every claim (and start) makes the
// service send every counselor a fresh queue; a few at a time keeps that from timing out.
const SETUP_WIDTH = 4
const TICK_MS = 2
const DRAIN_POLL_MS = 20
const LOOP_RESOLUTION_MS = 5
// Messages listed with their send times for each run: where a tail comes from shows in when.
const SLOWEST = 10
// A typical short chat line; Japanese, as most of the service's traffic is.
const FILLER = 'こんにちは。相談したいことがあるのですが、今お時間よろしいでしょうか。'

export async function openPairs (target, count) {
  return inBatches(count, SETUP_WIDTH, async (i) => {
    const visitor = await connect(target.url, '/visitor', { auth: { partner: 'demo' } })
    const { conversation } = await call(visitor, 'start', {})
    const cookie = target.cookies ? `mg_session=${target.cookies[i]}` : undefined
    const counselor = await connect(target.url, '/counselor', { cookie })
    await call(counselor, 'claim', { conversation_id: conversation.id })
    visitor.on('message', (m) => target.recorder?.deliver(i, VISITOR, m))
    counselor.on('message', (m) => target.recorder?.deliver(i, COUNSELOR, m))
    return { visitor, counselor, conversationId: conversation.id }
  })
}

export function closePairs (pairs) {
  for (const { visitor, counselor } of pairs) {
    visitor.close()
    counselor.close()
  }
}

/** Everything known about one level's messages, indexed by their number. */
class Recorder {
  constructor (prefix, capacity, maxInFlight) {
    this.prefix = prefix
    this.maxInFlight = maxInFlight
    this.sentAt = new Float64Array(capacity).fill(NaN)
    this.ackAt = new Float64Array(capacity).fill(NaN)
    this.deliveredAt = new Float64Array(capacity).fill(NaN)
    this.fromPair = new Int32Array(capacity).fill(-1)
    this.fromSide = new Uint8Array(capacity)
    this.sent = 0
    this.skipped = 0
    this.acked = 0
    this.inFlight = 0
    this.delivered = 0
    this.duplicates = 0
    this.misrouted = 0
    this.errors = {}
  }

  send (n, sender) {
    if (sender.inFlight >= this.maxInFlight) {
      this.skipped++
      return
    }
    const clientId = this.prefix + n
    const body = `${clientId} ${FILLER}`
    const payload = sender.side === VISITOR
      ? { client_id: clientId, body }
      : { conversation_id: sender.conversationId, client_id: clientId, body }
    this.fromPair[n] = sender.pair
    this.fromSide[n] = sender.side
    sender.inFlight++
    this.inFlight++
    this.sent++
    this.sentAt[n] = performance.now()
    sender.socket.emit('message', payload, (ack) => {
      this.ackAt[n] = performance.now()
      sender.inFlight--
      this.inFlight--
      if (ack && ack.ok === true) {
        this.acked++
      } else {
        const code = ack?.error?.code ?? 'malformed_ack'
        this.errors[code] = (this.errors[code] ?? 0) + 1
      }
    })
  }

  deliver (pair, side, message) {
    const body = message?.body
    // System messages and late arrivals from an earlier level are not this level's business.
    if (typeof body !== 'string' || !body.startsWith(this.prefix)) return
    const n = Number(body.slice(this.prefix.length, body.indexOf(' ')))
    if (this.fromPair[n] !== pair || this.fromSide[n] === side) {
      this.misrouted++
    } else if (!Number.isNaN(this.deliveredAt[n])) {
      this.duplicates++
    } else {
      this.deliveredAt[n] = performance.now()
      this.delivered++
    }
  }

  get settled () {
    return this.inFlight === 0 && this.delivered >= this.acked
  }
}

function pace (rate, total, senders, recorder) {
  const t0 = performance.now()
  let issued = 0
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor((rate * (performance.now() - t0)) / 1000))
      for (; issued < due; issued++) recorder.send(issued, senders[issued % senders.length])
      if (issued >= total) {
        clearInterval(timer)
        resolve(performance.now())
      }
    }, TICK_MS)
  })
}

function epochSeconds (at) {
  return (performance.timeOrigin + at) / 1000
}

/** The slowest messages: end-to-end ms, when sent (Unix seconds), from which side. */
function slowest (recorder, measured) {
  const e2eOf = (n) => recorder.deliveredAt[n] - recorder.sentAt[n]
  return measured
    .sort((a, b) => e2eOf(b) - e2eOf(a))
    .slice(0, SLOWEST)
    .map((n) => ({
      ms: Math.round(e2eOf(n) * 100) / 100,
      at: epochSeconds(recorder.sentAt[n]),
      from: recorder.fromSide[n] === VISITOR ? 'visitor' : 'counselor'
    }))
}

/** Every measured message as [ms into the window when sent, e2e ms], in send order. */
function series (recorder, measured, warmEnd) {
  const r2 = (x) => Math.round(x * 100) / 100
  return [...measured].sort((a, b) => a - b).map((n) => [
    r2(recorder.sentAt[n] - warmEnd),
    r2(recorder.deliveredAt[n] - recorder.sentAt[n])
  ])
}

/**
 * One offered rate against one server. Latency, throughput and CPU count only what happens after
 * the warm-up; delivered/sent counts everything, drain included.
 */
export async function runLevel (target, pairs, level, options) {
  const senders = pairs.flatMap((p, i) => [
    { socket: p.visitor, pair: i, side: VISITOR, inFlight: 0 },
    { socket: p.counselor, pair: i, side: COUNSELOR, conversationId: p.conversationId, inFlight: 0 }
  ])
  const total = Math.round(level.rate * level.seconds)
  const recorder = new Recorder(`${options.tag}-`, total, options.maxInFlight)
  target.recorder = recorder
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
  loopDelay.enable()
  const ownCpu = process.cpuUsage()

  const t0 = performance.now()
  const warmEnd = t0 + options.warmupSeconds * 1000
  let ticksAtWarmEnd = null
  let threadsAtWarmEnd = null
  let machineAtWarmEnd = null
  const warmTimer = setTimeout(() => {
    ticksAtWarmEnd = cpuTicks(target.pid)
    threadsAtWarmEnd = threadTicks(target.pid)
    machineAtWarmEnd = machineTicks()
  }, warmEnd - t0)
  const tEnd = await pace(level.rate, total, senders, recorder)
  const ticksAtEnd = cpuTicks(target.pid)
  const threadsAtEnd = threadTicks(target.pid)
  const machineAtEnd = machineTicks()
  clearTimeout(warmTimer)
  const drainDeadline = tEnd + options.drainSeconds * 1000
  while (!recorder.settled && performance.now() < drainDeadline) await sleep(DRAIN_POLL_MS)
  loopDelay.disable()
  target.recorder = null

  const ownUsage = process.cpuUsage(ownCpu)
  const wallMs = performance.now() - t0
  const windowMs = tEnd - warmEnd
  const e2e = [[], []]
  const acks = []
  const measured = []
  let deliveredInWindow = 0
  for (let n = 0; n < total; n++) {
    const sentAt = recorder.sentAt[n]
    const deliveredAt = recorder.deliveredAt[n]
    if (deliveredAt >= warmEnd && deliveredAt <= tEnd) deliveredInWindow++
    if (!(sentAt >= warmEnd)) continue // NaN (skipped) or warm-up
    if (!Number.isNaN(deliveredAt)) {
      e2e[recorder.fromSide[n]].push(deliveredAt - sentAt)
      measured.push(n)
    }
    if (!Number.isNaN(recorder.ackAt[n])) acks.push(recorder.ackAt[n] - sentAt)
  }
  const msOfTicks = (ticks) => (ticks * 1000) / options.clkTck
  const serverCpuMs = ticksAtWarmEnd === null ? null : msOfTicks(ticksAtEnd - ticksAtWarmEnd)
  const threadCores = (key) => threadsAtWarmEnd === null
    ? null
    : msOfTicks(threadsAtEnd[key] - threadsAtWarmEnd[key]) / windowMs
  const machineCores = (key) => machineAtWarmEnd === null
    ? null
    : msOfTicks(machineAtEnd[key] - machineAtWarmEnd[key]) / windowMs
  return {
    level: level.name,
    target: target.name,
    offered_rate: level.rate,
    seconds: level.seconds,
    offered: total,
    sent: recorder.sent,
    skipped: recorder.skipped,
    acked: recorder.acked,
    ack_errors: recorder.errors,
    delivered: recorder.delivered,
    delivered_ratio: recorder.sent ? recorder.delivered / recorder.sent : null,
    duplicates: recorder.duplicates,
    misrouted: recorder.misrouted,
    throughput: windowMs > 0 ? (deliveredInWindow * 1000) / windowMs : null,
    e2e_ms: summarize([...e2e[VISITOR], ...e2e[COUNSELOR]]),
    e2e_visitor_to_counselor_ms: summarize(e2e[VISITOR]),
    e2e_counselor_to_visitor_ms: summarize(e2e[COUNSELOR]),
    ack_ms: summarize(acks),
    server_cpu_ms_per_msg: serverCpuMs === null || !deliveredInWindow
      ? null
      : serverCpuMs / deliveredInWindow,
    server_cores: serverCpuMs === null ? null : serverCpuMs / windowMs,
    server_main_thread_cores: threadCores('main'),
    server_other_threads_cores: threadCores('others'),
    server_child_processes_cores: threadCores('children'),
    server_rss_kib: rssKiB(target.pid),
    window: { from: epochSeconds(warmEnd), to: epochSeconds(tEnd) },
    slowest: slowest(recorder, measured),
    series: options.series?.includes(level.name) ? series(recorder, measured, warmEnd) : undefined,
    generator_cores: (ownUsage.user + ownUsage.system) / 1000 / wallMs,
    machine_cores_busy: machineCores('busy'),
    machine_cores_stolen: machineCores('steal'),
    // The histogram holds whole timer periods; the lag is what exceeds the period.
    generator_loop_lag_p99_ms: Math.max(0, loopDelay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS)
  }
}
