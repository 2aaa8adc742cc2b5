import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import pg from 'pg'
import { ConfigError, loadConfig, type Platform, startPlatform } from '../src/index.ts'
import { batch, click, heatmap, post, waitFor } from './helpers/events.ts'

const admin = 'postgres://postgres@127.0.0.1:5432/postgres'
const database = `hm_test_${process.pid}_${randomBytes(3).toString('hex')}`
let dir: string
let platform: Platform

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hm-real-'))
  const c = new pg.Client(admin)
  await c.connect()
  await c.query(`CREATE DATABASE ${database}`)
  await c.end()
})
after(async () => {
  await platform?.stop()
  const c = new pg.Client(admin)
  await c.connect()
  await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await c.end()
  await rm(dir, { recursive: true, force: true })
})

describe('switching parts to real servers by environment only', () => {
  test('PostgreSQL and Redis servers instead of PGlite and the in-memory cache', async () => {
    platform = await startPlatform(
      loadConfig({
        HM_DATA_DIR: dir,
        HM_PORT: '0',
        HM_THREADS: '2',
        HM_SHARDS: '8',
        HM_FLUSH_INTERVAL_MS: '100',
        HM_DEMO_TRAFFIC: 'false',
        HM_LOG_LEVEL: 'warn',
        HM_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
        HM_REDIS_URL: 'redis://127.0.0.1:6379',
      }),
    )
    assert.equal(platform.stores.app, '127.0.0.1:5432')
    assert.equal(platform.stores.cache, '127.0.0.1:6379')
    const { siteKey, siteId, apiKey } = platform.demo!
    // The demo website really is in the server's database.
    const c = new pg.Client(`postgres://postgres@127.0.0.1:5432/${database}`)
    await c.connect()
    const { rows } = await c.query('SELECT site_key FROM websites WHERE id = $1', [siteId])
    await c.end()
    assert.equal(rows[0]?.site_key, siteKey)

    const r = await post(
      platform.url,
      batch(
        siteKey,
        Array.from({ length: 12 }, () => click('https://x.example/a', 64, 32)),
      ),
    )
    assert.equal(r.status, 202)
    const h = await waitFor(
      () => heatmap(platform.url, apiKey, siteId, { page: '/a', type: 'click' }),
      (v) => v.total >= 12,
    )
    assert.deepEqual(h.cells, [[6, 2, 12]])
  })

  test('a NATS URL is refused with a message naming the variable, not ignored', async () => {
    await assert.rejects(
      startPlatform(loadConfig({ HM_DATA_DIR: dir, HM_NATS_URL: 'nats://127.0.0.1:4222' })),
      (e: unknown) => e instanceof ConfigError && e.variable === 'HM_NATS_URL',
    )
  })
})
