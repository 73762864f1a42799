// Transfer sizes of the widget's scripts: minified as built, gzip -9 and brotli (quality 11),
// as a CDN or reverse proxy would serve them. Node's zlib has both, so no Python package is needed.
//
// Usage: node sizes.mjs FILE... → {"FILE": {"min": n, "gzip": n, "brotli": n} | null, ...}
import { readFileSync } from 'node:fs'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

function sizes (path) {
  let data
  try {
    data = readFileSync(path)
  } catch {
    return null
  }
  return {
    min: data.length,
    gzip: gzipSync(data, { level: 9 }).length,
    brotli: brotliCompressSync(data, {
      params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY }
    }).length
  }
}

const result = Object.fromEntries(process.argv.slice(2).map((path) => [path, sizes(path)]))
process.stdout.write(JSON.stringify(result) + '\n')
