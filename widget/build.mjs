// Builds what the service serves: dist/widget.js (the loader partners embed), dist/chat.js and
// dist/chat.css (the chat page in the iframe), dist/safety.js (the "staying safe online" page),
// dist/deadend.js (the pages where a chat cannot open), dist/inbox.js and dist/inbox.css
// (counselors), dist/demo.css (the demo partner page).
// Everything is bundled and minified here so that no page loads a script from anywhere else.
//
// Every file but the loader is named by a hash of its content (chat.3f9a1c2b.js), so that the
// service can let browsers keep it for a year and a new build is a new URL; dist/manifest.json
// maps each logical name to that file, and the service reads it at startup. The loader keeps
// its name, since partners embed that URL. Each file also gets a gzip (-9) and a brotli
// (quality 11) copy beside it (.gz, .br): compressed once here, never per request.
import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, extname } from 'node:path'
import { constants, brotliCompressSync, gzipSync } from 'node:zlib'

const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  target: ['es2019', 'safari13'],
  logLevel: 'warning'
}

// The visitor's strings live in src/i18n/LANG.json, one file a language: a translator adds a
// language by adding a file. `import STRINGS from 'mg-i18n:loader'` gets { LANG: section } of
// every catalogue, and only that section: the loader carries its nine strings, not the pages'
// (the server renders those from the same files).
const I18N_DIR = new URL('./src/i18n/', import.meta.url)
const catalogues = {
  name: 'madoguchi-catalogues',
  setup (b) {
    b.onResolve({ filter: /^mg-i18n:/ }, (args) => ({ path: args.path.slice(8), namespace: 'mg-i18n' }))
    b.onLoad({ filter: /.*/, namespace: 'mg-i18n' }, (args) => {
      const files = readdirSync(I18N_DIR).filter((name) => name.endsWith('.json')).sort()
      const sections = {}
      for (const name of files) {
        const catalogue = JSON.parse(readFileSync(new URL(name, I18N_DIR), 'utf8'))
        sections[name.slice(0, -5)] = catalogue[args.path]
      }
      return {
        contents: JSON.stringify(sections),
        loader: 'json',
        watchFiles: files.map((name) => new URL(name, I18N_DIR).pathname)
      }
    })
  }
}

// Built in memory; emit() names, compresses and writes.
const script = (entry, out) =>
  build({ ...common, entryPoints: [entry], outfile: out, format: 'iife', plugins: [catalogues], write: false })
const stylesheet = (entry, out) => build({ ...common, entryPoints: [entry], outfile: out, write: false })

// The file partners embed by name; everything else is named by its content.
const STABLE = new Set(['widget.js'])

function hashedName (logical, contents) {
  const digest = createHash('sha256').update(contents).digest('hex').slice(0, 8)
  const ext = extname(logical)
  return `${basename(logical, ext)}.${digest}${ext}`
}

function emit (result) {
  if (result.outputFiles.length !== 1) {
    throw new Error(`expected one output, got ${result.outputFiles.map((f) => f.path).join(', ')}`)
  }
  const [file] = result.outputFiles
  const logical = basename(file.path)
  const name = STABLE.has(logical) ? logical : hashedName(logical, file.contents)
  writeFileSync(`dist/${name}`, file.contents)
  writeFileSync(`dist/${name}.gz`, gzipSync(file.contents, { level: 9 }))
  writeFileSync(`dist/${name}.br`, brotliCompressSync(file.contents, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: file.contents.length
    }
  }))
  return [logical, name]
}

const results = await Promise.all([
  script('src/loader.js', 'dist/widget.js'),
  script('src/chat.js', 'dist/chat.js'),
  script('src/safety.js', 'dist/safety.js'),
  script('src/deadend.js', 'dist/deadend.js'),
  script('src/inbox.js', 'dist/inbox.js'),
  stylesheet('src/chat.css', 'dist/chat.css'),
  stylesheet('src/inbox.css', 'dist/inbox.css'),
  // The demo partner page's own stylesheet (its CSP allows no inline styles either).
  stylesheet('src/demo.css', 'dist/demo.css')
])

// Earlier builds' files go: the service serves only what the manifest names. The Makefile's
// stamp (.built) stays.
mkdirSync('dist', { recursive: true })
for (const name of readdirSync('dist')) {
  if (name !== '.built') rmSync(`dist/${name}`)
}
const manifest = Object.fromEntries(results.map(emit).sort())
writeFileSync('dist/manifest.json', JSON.stringify(manifest, null, 2) + '\n')
