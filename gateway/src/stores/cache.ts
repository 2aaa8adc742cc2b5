import { Redis } from 'ioredis'

/**
 * The small cache the gateway needs (lookups, and later rate limits and token revocation). Redis in a
 * cluster; the in-memory implementation in the embedded platform. One contract test runs on both.
 */
export interface Cache {
  get(key: string): Promise<string | undefined>
  set(key: string, value: string, ttlMs: number): Promise<void>
  del(key: string): Promise<void>
  /** Adds 1 and returns the new value; the key expires `ttlMs` after its first increment. */
  incr(key: string, ttlMs: number): Promise<number>
  close(): Promise<void>
}

export class MemoryCache implements Cache {
  private readonly entries = new Map<string, { value: string; expires: number }>()
  private readonly maxEntries: number
  private readonly now: () => number

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.maxEntries = options.maxEntries ?? 100_000
    this.now = options.now ?? Date.now
  }

  private live(key: string): { value: string; expires: number } | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (e.expires <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return e
  }

  async get(key: string): Promise<string | undefined> {
    return this.live(key)?.value
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.entries.delete(key)
    // Bounded: the oldest entry goes first (Map keeps insertion order).
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(key, { value, expires: this.now() + ttlMs })
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key)
  }

  async incr(key: string, ttlMs: number): Promise<number> {
    const e = this.live(key)
    if (e === undefined) {
      await this.set(key, '1', ttlMs)
      return 1
    }
    e.value = String(Number(e.value) + 1)
    return Number(e.value)
  }

  async close(): Promise<void> {
    this.entries.clear()
  }
}

export class RedisCache implements Cache {
  private readonly redis: Redis
  private readonly prefix: string

  constructor(url: string, prefix = 'hm:') {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 })
    this.prefix = prefix
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + key)) ?? undefined
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, value, 'PX', ttlMs)
  }

  async del(key: string): Promise<void> {
    await this.redis.del(this.prefix + key)
  }

  async incr(key: string, ttlMs: number): Promise<number> {
    const k = this.prefix + key
    const [[, n]] = (await this.redis.multi().incr(k).pexpire(k, ttlMs, 'NX').exec()) as [
      [null, number],
      unknown,
    ]
    return n
  }

  async close(): Promise<void> {
    await this.redis.quit()
  }
}

export function openCache(url: string | undefined): Cache {
  return url === undefined ? new MemoryCache() : new RedisCache(url)
}
