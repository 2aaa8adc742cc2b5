import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ConfigError, describeConfig, loadConfig } from '../src/index.ts'

describe('configuration', () => {
  test('no variable set gives the embedded defaults, frozen', () => {
    const c = loadConfig({})
    assert.equal(c.HM_PORT, 8080)
    assert.equal(c.HM_DATA_DIR, './data')
    assert.equal(c.HM_CLICKHOUSE_URL, undefined)
    assert.equal(c.HM_DATABASE_URL, undefined)
    assert.equal(c.HM_DEMO, true)
    assert.ok(Object.isFrozen(c))
  })

  test('values are parsed to their types', () => {
    const c = loadConfig({ HM_PORT: '9000', HM_DEMO_TRAFFIC: 'off', HM_REDIS_URL: 'redis://127.0.0.1:6379' })
    assert.equal(c.HM_PORT, 9000)
    assert.equal(c.HM_DEMO_TRAFFIC, false)
    assert.equal(c.HM_REDIS_URL, 'redis://127.0.0.1:6379')
  })

  const bad: Array<[Record<string, string>, string, RegExp]> = [
    [{ HM_PORT: '70000' }, 'HM_PORT', /integer from 0 to 65535/],
    [{ HM_PORT: 'eighty' }, 'HM_PORT', /integer/],
    [{ HM_DEMO: 'maybe' }, 'HM_DEMO', /true or false/],
    [{ HM_CLICKHOUSE_URL: 'ftp://x' }, 'HM_CLICKHOUSE_URL', /http:\/\/ or https:\/\//],
    [{ HM_DATABASE_URL: 'not a url' }, 'HM_DATABASE_URL', /postgres/],
    [{ HM_LOG_LEVEL: 'loud' }, 'HM_LOG_LEVEL', /one of fatal, error/],
    [{ HM_CLICKHOUSE_DATABASE: 'drop table' }, 'HM_CLICKHOUSE_DATABASE', /matching/],
    [{ HM_PROT: '1' }, 'HM_PROT', /unknown variable/],
  ]
  for (const [env, variable, allowed] of bad) {
    test(`a bad ${variable} stops with a message naming it and what is allowed`, () => {
      assert.throws(
        () => loadConfig(env),
        (e: unknown) => e instanceof ConfigError && e.variable === variable && allowed.test(e.message),
      )
    })
  }

  test('every variable is described', () => {
    for (const v of describeConfig()) assert.ok(v.description.length > 5, v.name)
  })
})

test('the README documents every variable', async () => {
  const { readFile } = await import('node:fs/promises')
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  for (const v of describeConfig())
    assert.ok(readme.includes(`\`${v.name}\``), `${v.name} is not in the README`)
})
