import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { RateLimiter } from '../../src/ingest/rate-limit.ts'
import { type Cache, MemoryCache, RedisCache } from '../../src/stores/cache.ts'

/** One contract for the limiter on both caches: memory (embedded) and real Redis (cluster). */
function contract(name: string, open: () => Cache): void {
  describe(`rate limiter on ${name}`, () => {
    const caches: Cache[] = []
    after(async () => {
      for (const c of caches) await c.close()
    })
    const cache = (): Cache => {
      const c = open()
      caches.push(c)
      return c
    }

    test('admits up to the limit in a window, then says how long to wait', async () => {
      // 25 s into a 60 s window: 35 s are left.
      let now = 1_700_000_000_000 - (1_700_000_000_000 % 60_000) + 25_000
      const rl = new RateLimiter({
        cache: cache(),
        windowMs: 60_000,
        now: () => now,
        onError: (e) => assert.fail(String(e)),
      })
      const key = `ip:${randomUUID()}`
      for (let i = 0; i < 3; i++) assert.deepEqual(await rl.hit(key, 3), { ok: true })
      assert.deepEqual(await rl.hit(key, 3), { ok: false, retryAfterS: 35 })
      // Other keys count on their own.
      assert.deepEqual(await rl.hit(`ip:${randomUUID()}`, 3), { ok: true })
      // The next window starts from zero.
      now += 35_000
      assert.deepEqual(await rl.hit(key, 3), { ok: true })
    })

    test('a limit of 0 is no limit', async () => {
      const rl = new RateLimiter({ cache: cache(), windowMs: 1000, onError: (e) => assert.fail(String(e)) })
      for (let i = 0; i < 20; i++) assert.deepEqual(await rl.hit(`site:${randomUUID()}`, 0), { ok: true })
    })
  })
}

contract('the in-memory cache', () => new MemoryCache())
contract('Redis', () => new RedisCache('redis://127.0.0.1:6379', `hm-test-${randomUUID()}:`))

test('a cache that fails lets the request through and reports the failure', async () => {
  const broken: Cache = {
    get: async () => undefined,
    set: async () => {},
    del: async () => {},
    incr: async () => {
      throw new Error('connection refused')
    },
    close: async () => {},
  }
  const errors: unknown[] = []
  const rl = new RateLimiter({ cache: broken, windowMs: 1000, onError: (e) => errors.push(e) })
  assert.deepEqual(await rl.hit('ip:x', 1), { ok: true })
  assert.equal(errors.length, 1)
  assert.match(String(errors[0]), /connection refused/)
})
