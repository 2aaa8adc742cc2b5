import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { runtimeErrors } from '@hm/runtime'
import { gatewayErrors } from '../src/index.ts'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')

test('error codes are unique across packages, well-formed and documented in the README', () => {
  const codes = [...Object.keys(gatewayErrors), ...Object.keys(runtimeErrors)]
  assert.equal(new Set(codes).size, codes.length)
  for (const code of Object.keys(gatewayErrors)) {
    assert.match(code, /^HM_ERR_[A-Z]+(_[A-Z]+)*$/)
    const { status, message } = gatewayErrors[code as keyof typeof gatewayErrors]
    assert.ok(status >= 400 && status < 600, code)
    assert.ok(message.length > 5, code)
    assert.ok(readme.includes(code), `${code} is not in the README's error table`)
  }
  for (const [code, message] of Object.entries(runtimeErrors)) {
    assert.match(code, /^RT_ERR_[A-Z]+(_[A-Z]+)*$/)
    assert.ok(message.length > 5, code)
  }
})
