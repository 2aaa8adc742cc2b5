import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { test } from 'node:test'

const root = new URL('../../', import.meta.url).pathname

test('npm start with a bad variable stops at once, naming the variable and what is allowed', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH, HM_THREADS: 'lots' },
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(r.status, 2)
  assert.match(
    r.stderr,
    /Configuration error: HM_THREADS: "lots" is not allowed; expected an integer from 1 to 256/,
  )
})
