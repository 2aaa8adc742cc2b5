/**
 * Bundles the browser capture script: `sdk/src/capture.ts` → `sdk/dist/hm.js` (IIFE, minified, ES2018),
 * prints its size and fails when the gzipped bundle is over budget, because the script rides on every
 * page view of every customer site.
 */
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { sdkBundlePath } from './src/index.ts'

const BUDGET = 8192

const result = await build({
  entryPoints: [new URL('./src/capture.ts', import.meta.url).pathname],
  outfile: sdkBundlePath,
  bundle: true,
  format: 'iife',
  target: 'es2018',
  platform: 'browser',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
})
if (result.errors.length > 0) process.exit(1)

const code = readFileSync(sdkBundlePath)
const gzipped = gzipSync(code, { level: 9 }).length
console.log(`sdk: hm.js ${code.length} bytes min, ${gzipped} bytes min+gzip (budget ${BUDGET})`)
if (gzipped > BUDGET) {
  console.error(`sdk: hm.js is ${gzipped - BUDGET} bytes over the ${BUDGET} byte min+gzip budget`)
  process.exit(1)
}
