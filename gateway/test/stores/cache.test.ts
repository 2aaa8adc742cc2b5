import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { describe, test } from 'node:test'
import { type Cache, MemoryCache, RedisCache } from '../../src/stores/cache.ts'

/** One contract, both implementations: the in-memory cache of the embedded platform and real Redis. */
function contract(name: string, open: () => { cache: Cache; advance?: (ms: number) => Promise<void> }): void {
  describe(`cache contract: ${name}`, () => {
    test('set, get, del', async () => {
      const { cache } = open()
      const k = randomUUID()
      assert.equal(await cache.get(k), undefined)
      await cache.set(k, 'v', 10_000)
      assert.equal(await cache.get(k), 'v')
      await cache.del(k)
      assert.equal(await cache.get(k), undefined)
      await cache.close()
    })

    test('entries expire after their ttl', async () => {
      const { cache, advance } = open()
      const k = randomUUID()
      await cache.set(k, 'v', 50)
      await (advance ?? ((ms: number) => new Promise((r) => setTimeout(r, ms))))(120)
      assert.equal(await cache.get(k), undefined)
      await cache.close()
    })

    test('incr counts from 1 and the window expires', async () => {
      const { cache, advance } = open()
      const k = randomUUID()
      assert.equal(await cache.incr(k, 50), 1)
      assert.equal(await cache.incr(k, 50), 2)
      await (advance ?? ((ms: number) => new Promise((r) => setTimeout(r, ms))))(120)
      assert.equal(await cache.incr(k, 50), 1)
      await cache.close()
    })
  })
}

contract('memory', () => {
  let now = 0
  return {
    cache: new MemoryCache({ now: () => now }),
    advance: async (ms) => {
      now += ms
    },
  }
})
contract('redis', () => ({ cache: new RedisCache('redis://127.0.0.1:6379', `hm-test-${process.pid}:`) }))

test('the memory cache is bounded', async () => {
  const c = new MemoryCache({ maxEntries: 3 })
  for (const k of ['a', 'b', 'c', 'd']) await c.set(k, k, 10_000)
  assert.equal(await c.get('a'), undefined)
  assert.equal(await c.get('d'), 'd')
})
