/**
 * Bundles the browser scripts (IIFE, minified, ES2018), prints their sizes and fails when one is over
 * its min+gzip budget:
 * - `sdk/src/capture.ts` → `sdk/dist/hm.js`, the capture script: it rides on every page view of every
 *   customer site, so its budget is 8 KB.
 * - `sdk/src/overlay.ts` → `sdk/dist/overlay.js`, the live-site overlay, a separate chunk only the site's
 *   owner loads.
 */
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { overlayBundlePath, sdkBundlePath } from './src/index.ts'

const chunks = [
  { name: 'hm.js', entry: './src/capture.ts', out: sdkBundlePath, budget: 8192 },
  { name: 'overlay.js', entry: './src/overlay.ts', out: overlayBundlePath, budget: 8192 },
]

let over = false
for (const c of chunks) {
  const result = await build({
    entryPoints: [new URL(c.entry, import.meta.url).pathname],
    outfile: c.out,
    bundle: true,
    format: 'iife',
    target: 'es2018',
    platform: 'browser',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  })
  if (result.errors.length > 0) process.exit(1)
  const code = readFileSync(c.out)
  const gzipped = gzipSync(code, { level: 9 }).length
  console.log(`sdk: ${c.name} ${code.length} bytes min, ${gzipped} bytes min+gzip (budget ${c.budget})`)
  if (gzipped > c.budget) {
    console.error(`sdk: ${c.name} is ${gzipped - c.budget} bytes over its ${c.budget} byte min+gzip budget`)
    over = true
  }
}
if (over) process.exit(1)
