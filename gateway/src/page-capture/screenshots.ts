import type { FastifyBaseLogger } from 'fastify'
import { GatewayError } from '../errors.ts'
import type { AddressPolicy } from './address-policy.ts'
import type { BrowserPool } from './browser-pool.ts'
import type { ScreenshotKey, ScreenshotStore, StoredScreenshot } from './screenshot-store.ts'

export interface ScreenshotRequest extends ScreenshotKey {
  /** Where the gateway loads the page (see `PageTarget.fetchUrl`). */
  fetchUrl: string
  policy: AddressPolicy
}

export interface ScreenshotAnswer extends StoredScreenshot {
  /** Served from the store (a fresh capture was not needed). */
  cached: boolean
  /** Older than the TTL: a new capture failed, so the last one is shown rather than nothing. */
  stale: boolean
}

/**
 * Screenshots of pages by (site, url, width): from the store while younger than the TTL, else captured
 * again. Requests for a key being captured wait for that capture instead of starting their own.
 */
export class Screenshots {
  readonly #inflight = new Map<string, Promise<StoredScreenshot>>()

  constructor(
    private readonly o: {
      store: ScreenshotStore
      /** Undefined when screenshots are off (HM_SCREENSHOTS=false). */
      browser: BrowserPool | undefined
      ttlMs: number
      log: FastifyBaseLogger
      now?: () => number
      onLookup?: (result: 'hit' | 'miss' | 'stale') => void
    },
  ) {}

  get enabled(): boolean {
    return this.o.browser !== undefined
  }

  async get(r: ScreenshotRequest): Promise<ScreenshotAnswer> {
    const browser = this.o.browser
    if (browser === undefined)
      throw new GatewayError('HM_ERR_SCREENSHOT_UNAVAILABLE', 'screenshots are turned off (HM_SCREENSHOTS)')
    const now = this.o.now ?? Date.now
    const stored = await this.o.store.get(r)
    if (stored !== undefined && now() - stored.capturedAt.getTime() < this.o.ttlMs) {
      this.o.onLookup?.('hit')
      return { ...stored, cached: true, stale: false }
    }
    const key = `${r.siteId}\n${r.width}\n${r.url}`
    let capture = this.#inflight.get(key)
    if (capture === undefined) {
      capture = (async () => {
        const shot = await browser.capture(r.fetchUrl, r.width, r.policy)
        const fresh: StoredScreenshot = { ...shot, capturedAt: new Date(now()) }
        await this.o.store.put(r, fresh, Math.max(4 * this.o.ttlMs, 7 * 86_400_000))
        return fresh
      })().finally(() => this.#inflight.delete(key))
      this.#inflight.set(key, capture)
    }
    try {
      const fresh = await capture
      this.o.onLookup?.('miss')
      return { ...fresh, cached: false, stale: false }
    } catch (e) {
      if (stored === undefined) throw e
      this.o.log.warn({ err: e, url: r.url, width: r.width }, 'screenshot not renewed; serving the last one')
      this.o.onLookup?.('stale')
      return { ...stored, cached: true, stale: true }
    }
  }
}
