// The load generator of `make bench`, in Node so that it does not take the Python servers' cores.
//
// Usage: node load.mjs CONFIG.json. The orchestrator (bench/__main__.py) writes the config and
// reads one JSON document from stdout; progress goes to stderr.
//
// Both servers are driven by this one process, side by side: the idle test for each, then the
// chat levels, alternating the servers within each level (and their order between rounds), so
// that the noise of a shared machine falls on both alike. At the levels it is asked for (the
// steady one), the bare durable commit (bench/commit.py) takes its turn in the same rotation.
import { readFileSync } from 'node:fs'
import { closePairs, openPairs, runLevel } from './loadgen/chat.mjs'
import { runIdle } from './loadgen/idle.mjs'
import { runProbe } from './loadgen/probe.mjs'
import { sleep } from './loadgen/proc.mjs'

const PAUSE_MS = 1000 // between runs: lets the previous run's last writes and frees settle

function log (message) {
  process.stderr.write(`bench: ${message}\n`)
}

async function main () {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8'))
  const { targets, chat, probe } = config
  const result = { idle: [], chat: [], commit: [], setup: [] }

  for (const target of targets) {
    log(`idle: ${config.idleConnections} visitor connections to ${target.name}`)
    result.idle.push(await runIdle(target, config.idleConnections))
    await sleep(PAUSE_MS)
  }

  for (const target of targets) {
    const t0 = performance.now()
    target.pairs = await openPairs(target, chat.pairs)
    result.setup.push({ target: target.name, pairs: chat.pairs, seconds: (performance.now() - t0) / 1000 })
    log(`chat: ${chat.pairs} pairs open on ${target.name}`)
  }
  for (let round = 1; round <= chat.rounds; round++) {
    for (const level of chat.levels) {
      const runs = probe?.levels.includes(level.name) ? [...targets, probe] : targets
      for (const target of round % 2 ? runs : [...runs].reverse()) {
        log(`round ${round}: ${level.name} (${level.rate}/s offered) on ${target.name}`)
        if (target === probe) {
          result.commit.push({ round, ...await runProbe(probe, level, chat.warmupSeconds) })
        } else {
          const tag = `r${round}-${level.name}-${target.name}`
          const run = await runLevel(target, target.pairs, level, { ...chat, tag, clkTck: config.clkTck })
          result.chat.push({ round, ...run })
        }
        await sleep(PAUSE_MS)
      }
    }
  }
  for (const target of targets) closePairs(target.pairs)
  process.stdout.write(JSON.stringify(result) + '\n')
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench: load generator failed: ${err.stack}\n`)
    process.exit(1)
  }
)
