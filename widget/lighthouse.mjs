// `make lighthouse`: Lighthouse's mobile audit (performance and accessibility) of the chat page
// and the demo partner page, on a private server: a fresh SQLite database in a temporary
// folder, a free port on 127.0.0.1, the default desk open around the clock (as `make run`).
// Chromium is Debian's (CHROME_PATH, default /usr/bin/chromium); nothing leaves 127.0.0.1.
//
// Usage: node lighthouse.mjs [PATH ...]   (default: /chat /demo)
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { setTimeout as sleep } from 'node:timers/promises'

const PROJECT = new URL('..', import.meta.url).pathname
const PAGES = process.argv.length > 2 ? process.argv.slice(2) : ['/chat', '/demo']
const CHROME_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'
].join(' ')
const AUDITS = {
  'first-contentful-paint': 'FCP',
  'largest-contentful-paint': 'LCP',
  'total-blocking-time': 'TBT',
  'cumulative-layout-shift': 'CLS',
  'total-byte-weight': 'weight'
}

function freePort () {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

async function healthy (url, seconds) {
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return
    } catch {}
    await sleep(100) // polling a child process' readiness
  }
  throw new Error(`the server did not become healthy within ${seconds} s`)
}

function audit (url, out) {
  const run = spawnSync(join(PROJECT, 'widget/node_modules/.bin/lighthouse'), [
    url,
    '--only-categories=performance,accessibility',
    '--output=json',
    `--output-path=${out}`,
    '--quiet',
    `--chrome-flags=${CHROME_FLAGS}`
  ], {
    env: { ...process.env, CHROME_PATH: process.env.CHROME_PATH || '/usr/bin/chromium' },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 180_000
  })
  if (run.status !== 0) throw new Error(`lighthouse failed on ${url} (${run.error || run.status})`)
  return JSON.parse(readFileSync(out, 'utf8'))
}

const folder = mkdtempSync(join(tmpdir(), 'madoguchi-lighthouse-'))
const port = await freePort()
const origin = `http://127.0.0.1:${port}`
const server = spawn(join(PROJECT, '.venv/bin/madoguchi'), ['serve'], {
  cwd: PROJECT,
  env: {
    ...process.env,
    MADOGUCHI_DB: join(folder, 'madoguchi.sqlite3'),
    MADOGUCHI_HOST: '127.0.0.1',
    MADOGUCHI_PORT: String(port),
    MADOGUCHI_PUBLIC_URL: origin,
    MADOGUCHI_DEFAULT_DESK_HOURS: '24/7',
    MADOGUCHI_LOG_LEVEL: 'warning'
  },
  stdio: ['ignore', 'ignore', 'inherit']
})
try {
  await healthy(origin, 30)
  for (const [index, page] of PAGES.entries()) {
    const report = audit(origin + page, join(folder, `report-${index}.json`))
    const scores = Object.values(report.categories)
      .map((category) => `${category.id}=${Math.round(category.score * 100)}`)
    const figures = Object.entries(AUDITS)
      .map(([id, label]) => `${label} ${report.audits[id].displayValue}`)
    console.log(`${page} (${report.configSettings.formFactor}): ${scores.join(' ')}; ${figures.join(', ')}`)
  }
} finally {
  if (server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve))
    server.kill('SIGTERM')
    await Promise.race([exited, sleep(15_000)])
  }
  rmSync(folder, { recursive: true, force: true })
}
