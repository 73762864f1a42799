// What the generator reads about a server process, and how it summarises samples. Linux only:
// /proc is the one source that sees every thread of the server (the SQLite threads included).
import { readdirSync, readFileSync } from 'node:fs'

function ticksOf (statPath) {
  const stat = readFileSync(statPath, 'utf8')
  // The command name may hold spaces; the fields after its closing parenthesis never do.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12]) // utime, stime (fields 14 and 15 of proc(5))
}

/** The process's children (the service's writer process), by their parent in /proc/N/stat. */
export function childPids (pid) {
  const children = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // After the command's closing parenthesis: state, then the parent's pid.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) children.push(Number(entry))
    } catch {} // the process ended between the listing and the read
  }
  return children
}

function childrenTicks (pid) {
  let ticks = 0
  for (const child of childPids(pid)) {
    try {
      ticks += ticksOf(`/proc/${child}/stat`) + childrenTicks(child)
    } catch {} // the child ended
  }
  return ticks
}

/**
 * CPU time (user + system, all threads) of a process and of its child processes, in clock
 * ticks: the service commits in a child process, and its cost is the service's.
 */
export function cpuTicks (pid) {
  return ticksOf(`/proc/${pid}/stat`) + childrenTicks(pid)
}

/**
 * CPU ticks of the process's main thread (the event loop), of all its other threads (for the
 * service: the reading SQLite connection's; a thread that ended since is missing) and of its
 * child processes (the service's writer).
 */
export function threadTicks (pid) {
  let others = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (tid !== String(pid)) {
      try {
        others += ticksOf(`/proc/${pid}/task/${tid}/stat`)
      } catch {} // the thread ended between the listing and the read
    }
  }
  return { main: ticksOf(`/proc/${pid}/task/${pid}/stat`), others, children: childrenTicks(pid) }
}

/**
 * Clock ticks of the whole machine from /proc/stat: busy (every process, anyone's: beside the
 * server's and the generator's own it shows how much else ran) and stolen by the hypervisor.
 */
export function machineTicks () {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9)
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number)
  return { busy: user + nice + system + irq + softirq, steal }
}

/** Resident set size of a process and its child processes, in KiB. */
export function rssKiB (pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  let kib = match ? Number(match[1]) : NaN
  for (const child of childPids(pid)) {
    try {
      kib += rssKiB(child)
    } catch {} // the child ended
  }
  return kib
}

export function sleep (ms) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function percentile (sorted, p) {
  if (sorted.length === 0) return null
  const rank = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)
  return sorted[Math.max(0, rank)]
}

const round2 = (x) => (x === null ? null : Math.round(x * 100) / 100)

/** p50/p95/p99/max/mean of latencies in milliseconds. */
export function summarize (values) {
  const sorted = Float64Array.from(values).sort()
  const sum = sorted.reduce((a, b) => a + b, 0)
  return {
    n: sorted.length,
    p50: round2(percentile(sorted, 50)),
    p95: round2(percentile(sorted, 95)),
    p99: round2(percentile(sorted, 99)),
    max: round2(sorted.length ? sorted[sorted.length - 1] : null),
    mean: round2(sorted.length ? sum / sorted.length : null)
  }
}
