// Builds what the service serves: dist/widget.js (the loader partners embed), dist/chat.js and
// dist/chat.css (the chat page in the iframe), dist/inbox.js and dist/inbox.css (counselors),
// dist/demo.css (the demo partner page).
// Everything is bundled and minified here so that no page loads a script from anywhere else.
import { build } from 'esbuild'
import { mkdirSync } from 'node:fs'

const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  target: ['es2019', 'safari13'],
  logLevel: 'warning'
}

mkdirSync('dist', { recursive: true })
await Promise.all([
  build({ ...common, entryPoints: ['src/loader.js'], outfile: 'dist/widget.js', format: 'iife' }),
  build({ ...common, entryPoints: ['src/chat.js'], outfile: 'dist/chat.js', format: 'iife' }),
  build({ ...common, entryPoints: ['src/inbox.js'], outfile: 'dist/inbox.js', format: 'iife' }),
  build({ ...common, entryPoints: ['src/chat.css'], outfile: 'dist/chat.css' }),
  build({ ...common, entryPoints: ['src/inbox.css'], outfile: 'dist/inbox.css' }),
  // The demo partner page's own stylesheet (its CSP allows no inline styles either).
  build({ ...common, entryPoints: ['src/demo.css'], outfile: 'dist/demo.css' })
])
