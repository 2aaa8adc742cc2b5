import type { Cache } from '../stores/cache.ts'

export type RateVerdict = { ok: true } | { ok: false; retryAfterS: number }

export interface RateLimiterOptions {
  cache: Cache
  windowMs: number
  now?: () => number
  /** Called when the cache fails; the request is let through (the caller counts and logs it). */
  onError: (err: unknown) => void
}

/**
 * Fixed-window request counters in the shared cache (`incr` with the window as its expiry), so every
 * gateway of a cluster counts against the same limit through Redis. A cache that fails lets requests
 * through — a broken limiter must not turn away accepted traffic — and says so through `onError`.
 */
export class RateLimiter {
  private readonly cache: Cache
  private readonly windowMs: number
  private readonly now: () => number
  private readonly onError: (err: unknown) => void

  constructor(options: RateLimiterOptions) {
    this.cache = options.cache
    this.windowMs = options.windowMs
    this.now = options.now ?? Date.now
    this.onError = options.onError
  }

  /** Counts one request against `key`; over `limit` in this window, says when the window ends. */
  async hit(key: string, limit: number): Promise<RateVerdict> {
    if (limit <= 0) return { ok: true }
    const now = this.now()
    const window = Math.floor(now / this.windowMs)
    let n: number
    try {
      // The window index is in the key, so the expiry only has to outlive the window.
      n = await this.cache.incr(`rl:${key}:${window}`, this.windowMs + 1000)
    } catch (err) {
      this.onError(err)
      return { ok: true }
    }
    if (n <= limit) return { ok: true }
    return { ok: false, retryAfterS: Math.max(1, Math.ceil(((window + 1) * this.windowMs - now) / 1000)) }
  }
}
