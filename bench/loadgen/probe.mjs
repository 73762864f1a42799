// The bare durable commit (bench/commit.py) as one more run of a level's rotation: it paces its
// commits like the chat's messages and meets the same moment's noise as the servers beside it.
import { execFile } from 'node:child_process'

// Room for the probe's start and its last commits beyond the level's own length.
const SLACK_MS = 30000

export function runProbe (probe, level, warmupSeconds) {
  const args = [
    ...probe.command.slice(1),
    '--rate', String(level.rate),
    '--seconds', String(level.seconds),
    '--warmup', String(warmupSeconds)
  ]
  const timeout = level.seconds * 1000 + SLACK_MS
  return new Promise((resolve, reject) => {
    execFile(probe.command[0], args, { cwd: probe.cwd, timeout }, (err, stdout, stderr) => {
      if (err) reject(new Error(`bare commit probe failed: ${err.message}\n${stderr}`))
      else resolve({ level: level.name, target: probe.name, offered_rate: level.rate, ...JSON.parse(stdout) })
    })
  })
}
