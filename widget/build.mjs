// Builds what the service serves: dist/widget.js (the loader partners embed), dist/chat.js and
// dist/chat.css (the chat page in the iframe), dist/safety.js (the "staying safe online" page),
// dist/inbox.js and dist/inbox.css (counselors), dist/demo.css (the demo partner page).
// Everything is bundled and minified here so that no page loads a script from anywhere else.
import { build } from 'esbuild'
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'

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

const script = (entry, out) =>
  build({ ...common, entryPoints: [entry], outfile: out, format: 'iife', plugins: [catalogues] })

mkdirSync('dist', { recursive: true })
await Promise.all([
  script('src/loader.js', 'dist/widget.js'),
  script('src/chat.js', 'dist/chat.js'),
  script('src/safety.js', 'dist/safety.js'),
  script('src/inbox.js', 'dist/inbox.js'),
  build({ ...common, entryPoints: ['src/chat.css'], outfile: 'dist/chat.css' }),
  build({ ...common, entryPoints: ['src/inbox.css'], outfile: 'dist/inbox.css' }),
  // The demo partner page's own stylesheet (its CSP allows no inline styles either).
  build({ ...common, entryPoints: ['src/demo.css'], outfile: 'dist/demo.css' })
])
