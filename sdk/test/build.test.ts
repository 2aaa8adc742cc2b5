import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { gzipSync } from 'node:zlib'
import { overlayBundlePath, sdkBundlePath } from '../src/index.ts'

const root = new URL('../../', import.meta.url).pathname

test('the build prints both chunks’ sizes; the capture script is within 8 KB min+gzip', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'sdk/build.ts'], { cwd: root, encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  const m = /sdk: hm\.js (\d+) bytes min, (\d+) bytes min\+gzip \(budget 8192\)/.exec(r.stdout)
  assert.ok(m, r.stdout)
  assert.match(r.stdout, /sdk: overlay\.js \d+ bytes min, \d+ bytes min\+gzip/)
  const gz = gzipSync(readFileSync(sdkBundlePath), { level: 9 }).length
  assert.equal(Number(m[2]), gz)
  assert.ok(gz <= 8192, `${gz} bytes`)
})

test('the overlay is a chunk of its own: the capture script only knows its file name', () => {
  const capture = readFileSync(sdkBundlePath, 'utf8')
  const overlay = readFileSync(overlayBundlePath, 'utf8')
  assert.ok(overlay.includes('hm-overlay-canvas'))
  assert.equal(capture.includes('hm-overlay-canvas'), false)
  assert.equal(capture.includes('getImageData'), false)
  assert.ok(capture.includes('overlay.js'))
})
