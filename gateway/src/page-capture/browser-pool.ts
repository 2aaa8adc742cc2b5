import { existsSync } from 'node:fs'
import type { Browser, BrowserContext, Route } from 'playwright-core'
import { GatewayError } from '../errors.ts'
import { type AddressPolicy, checkedAddresses } from './address-policy.ts'
import { pinnedFetch } from './pinned-fetch.ts'

/** A Chromium that would not start is not tried again for this long (a missing binary stays missing). */
const LAUNCH_RETRY_MS = 60_000

const MAX_REDIRECTS = 5

/** What became of the captured page's own document request. */
interface MainDocument {
  refused: GatewayError | undefined
  redirect: URL | undefined
}

/** Where the browser's own traffic is sent: the discard port, where nothing listens. */
const DEAD_PROXY = 'http://127.0.0.1:9'

/** Screenshots stop here: a page longer than this is cut (an endless feed would be endless). */
export const MAX_CAPTURE_HEIGHT = 10_000

export interface BrowserPoolOptions {
  /** Chromium to drive; unset = `/usr/bin/chromium` if it exists, else playwright's own lookup. */
  executablePath?: string | undefined
  /** Pages captured at once; each is a whole browser context (memory and CPU). */
  maxPages?: number
  /** Captures waiting for a page beyond this are refused as busy rather than queued without bound. */
  maxQueue?: number
  /** Told of each capture's end, for the metrics. */
  onCapture?: (result: 'ok' | 'failed') => void
  /** Told of each request a captured page made that was kept from the network, and why. */
  onBlocked?: (reason: BlockReason) => void
}

export type BlockReason = 'sdk' | 'address' | 'scheme'

export interface Capture {
  png: Buffer
  /** The document's full height at that width, before the cut at MAX_CAPTURE_HEIGHT. */
  pageHeight: number
}

/** The default Chromium: the Debian package's when installed (the Docker image's), else playwright's. */
export function defaultChromiumPath(): string | undefined {
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined
}

/**
 * Scrolls the page through once, a screen at a time up to `cap`, and back to the top, then answers the
 * document's height. A string, so the test and build transforms never rewrite what runs in the page.
 */
const SCROLL_THROUGH = `async (cap) => {
  const height = () => Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)
  const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))
  for (let y = 0; y < Math.min(height(), cap); y += window.innerHeight) {
    window.scrollTo(0, y)
    await frame()
  }
  window.scrollTo(0, 0)
  await frame()
  if (document.fonts) await document.fonts.ready
  return height()
}`

/** A viewport height typical of the width's devices: what `100vh` sections are laid out against. */
const viewportHeight = (width: number): number => (width < 600 ? 844 : width < 1024 ? 1180 : 900)

/**
 * What the heatmap SDK sends: its ingest and consent endpoints (on whatever host serves them), and any
 * body shaped like its batches. A captured page runs its scripts, SDK included, and none of it may reach
 * ingestion: the gateway's own browser is not a visitor.
 */
function isSdkTraffic(url: URL, method: string, body: Buffer | null): boolean {
  if (/\/v1\/(?:events|consent)(?:\/|$)/.test(url.pathname)) return true
  if (method === 'GET' || method === 'HEAD' || body === null || body.length > 4 * 1024 * 1024) return false
  try {
    const j = JSON.parse(body.toString('utf8')) as Record<string, unknown> | null
    return typeof j === 'object' && j !== null && typeof j.siteKey === 'string' && 'batchId' in j
  } catch {
    return false
  }
}

const DROPPED_RESPONSE_HEADERS = new Set([
  'content-encoding',
  'content-length',
  'transfer-encoding',
  'connection',
])

/**
 * One headless Chromium for the process, launched on the first capture and closed with the gateway.
 * Each capture gets a fresh browser context — no cookies, storage or consent of anyone — and every
 * request its page makes is fetched by the gateway itself through the address policy (so neither a
 * redirect nor a DNS answer can lead the browser into a private network), with the SDK's posts dropped.
 */
export class BrowserPool {
  readonly #executablePath: string | undefined
  readonly #maxPages: number
  readonly #maxQueue: number
  readonly #o: BrowserPoolOptions
  #browser: Promise<Browser> | undefined
  #active = 0
  readonly #waiting: Array<() => void> = []
  #closed = false
  /** The last launch that failed: tried again only after LAUNCH_RETRY_MS, not on every request. */
  #failed: { at: number; error: GatewayError } | undefined

  constructor(o: BrowserPoolOptions = {}) {
    this.#o = o
    this.#executablePath = o.executablePath ?? defaultChromiumPath()
    this.#maxPages = o.maxPages ?? 2
    this.#maxQueue = o.maxQueue ?? 16
  }

  /** Full-page PNG of `url` rendered at `width` CSS px (one device pixel each), cut at MAX_CAPTURE_HEIGHT. */
  async capture(url: string, width: number, policy: AddressPolicy): Promise<Capture> {
    // Refused before a browser context is spent on it; redirects are checked as the page follows them.
    await checkedAddresses(new URL(url), policy)
    await this.#slot()
    let context: BrowserContext | undefined
    /** The page's own document: why it was kept from the network, or where it redirects. */
    const main: MainDocument = { refused: undefined, redirect: undefined }
    try {
      const browser = await this.#launch()
      context = await browser.newContext({
        viewport: { width, height: viewportHeight(width) },
        deviceScaleFactor: 1,
        serviceWorkers: 'block',
        acceptDownloads: false,
      })
      await context.routeWebSocket(/.*/, (ws) => ws.close({ code: 1008, reason: 'not during a capture' }))
      await context.route('**/*', (route) => this.#forward(route, policy, main))
      const page = await context.newPage()
      let target = url
      for (let hop = 0; ; hop++) {
        main.redirect = undefined
        try {
          const response = await page.goto(target, { waitUntil: 'load', timeout: 20_000 })
          if (response !== null && !response.ok())
            throw new GatewayError('HM_ERR_PAGE_UNREACHABLE', `${target} answered ${response.status()}`)
          break
        } catch (e) {
          // Set by the route while goto ran (the compiler cannot see that assignment).
          const next = main.redirect as URL | undefined
          if (next === undefined) throw e
          if (hop >= MAX_REDIRECTS)
            throw new GatewayError('HM_ERR_PAGE_UNREACHABLE', `${url}: more than ${MAX_REDIRECTS} redirects`)
          target = next.href
        }
      }
      // Late requests (fonts, lazy images) get a moment; a page that never goes quiet is taken as it is.
      await page.waitForLoadState('networkidle', { timeout: 3_000 }).catch(() => {})
      // Scrolled through once so lazily loaded content below the first screen is in the picture.
      const pageHeight = Number(await page.evaluate(`(${SCROLL_THROUGH})(${MAX_CAPTURE_HEIGHT})`))
      const png = await page.screenshot({
        type: 'png',
        fullPage: true,
        animations: 'disabled',
        clip: { x: 0, y: 0, width, height: Math.max(1, Math.min(pageHeight, MAX_CAPTURE_HEIGHT)) },
        timeout: 20_000,
      })
      this.#o.onCapture?.('ok')
      return { png, pageHeight }
    } catch (e) {
      this.#o.onCapture?.('failed')
      if (main.refused !== undefined) throw main.refused
      if (e instanceof GatewayError) throw e
      if (e instanceof Error && /Timeout|net::ERR_/.test(e.message))
        throw new GatewayError('HM_ERR_PAGE_UNREACHABLE', `${url}: ${e.message.split('\n')[0]}`)
      throw e
    } finally {
      await context?.close().catch(() => {})
      this.#release()
    }
  }

  /** Closes the browser; captures under way fail, later ones are refused. */
  async close(): Promise<void> {
    this.#closed = true
    const b = this.#browser
    this.#browser = undefined
    if (b !== undefined) await (await b.catch(() => undefined))?.close().catch(() => {})
  }

  async #forward(route: Route, policy: AddressPolicy, main: MainDocument): Promise<void> {
    const req = route.request()
    let url: URL
    try {
      url = new URL(req.url())
    } catch {
      return route.abort('blockedbyclient')
    }
    if (url.protocol === 'data:' || url.protocol === 'blob:') return route.continue()
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      this.#o.onBlocked?.('scheme')
      return route.abort('blockedbyclient')
    }
    const body = req.postDataBuffer()
    if (isSdkTraffic(url, req.method(), body)) {
      this.#o.onBlocked?.('sdk')
      return route.abort('blockedbyclient')
    }
    const isMain = req.isNavigationRequest() && req.frame().parentFrame() === null
    try {
      let at = url
      let method = req.method()
      let sent = body ?? undefined
      const headers = await req.allHeaders()
      // Redirects are followed here, each hop through the address policy: the browser would follow one
      // it is given without asking the route again.
      for (let hop = 0; ; hop++) {
        const r = await pinnedFetch(at, { method, headers, body: sent, policy })
        const location = r.status >= 300 && r.status < 400 ? r.headers.location : undefined
        if (location === undefined) {
          const out: Record<string, string> = {}
          for (const [k, v] of Object.entries(r.headers)) {
            if (v === undefined || DROPPED_RESPONSE_HEADERS.has(k)) continue
            out[k] = Array.isArray(v) ? v.join('\n') : v
          }
          return await route.fulfill({ status: r.status, headers: out, body: r.body })
        }
        const next = new URL(location, at)
        if (isMain) {
          // The page's own document must be loaded at its new address (its relative links resolve there).
          main.redirect = next
          return await route.abort('aborted')
        }
        if (hop >= MAX_REDIRECTS)
          throw new GatewayError(
            'HM_ERR_PAGE_UNREACHABLE',
            `${url.host}: more than ${MAX_REDIRECTS} redirects`,
          )
        if (next.origin !== at.origin) delete headers.cookie
        if (r.status === 303 || ((r.status === 301 || r.status === 302) && method === 'POST')) {
          method = 'GET'
          sent = undefined
        }
        at = next
      }
    } catch (e) {
      if (e instanceof GatewayError) {
        if (e.code === 'HM_ERR_PAGE_PRIVATE_ADDRESS') this.#o.onBlocked?.('address')
        if (isMain) main.refused ??= e
      }
      // The page may already be gone (the capture finished or failed): nothing is waiting for this request.
      await route.abort(e instanceof GatewayError ? 'addressunreachable' : 'failed').catch(() => {})
    }
  }

  #launch(): Promise<Browser> {
    if (this.#closed)
      return Promise.reject(new GatewayError('HM_ERR_SCREENSHOT_UNAVAILABLE', 'the gateway is stopping'))
    if (this.#failed !== undefined && Date.now() - this.#failed.at < LAUNCH_RETRY_MS)
      return Promise.reject(this.#failed.error)
    this.#browser ??= this.#start()
    return this.#browser
  }

  async #start(): Promise<Browser> {
    const { chromium } = await import('playwright-core')
    let browser: Browser
    try {
      browser = await chromium.launch({
        executablePath: this.#executablePath,
        args: [
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-extensions',
          '--disable-sync',
          '--no-first-run',
          '--mute-audio',
          '--hide-scrollbars',
          // Every request of a captured page is answered by the gateway (route interception). What the
          // browser would still send on its own — a beacon as a page is torn down, after interception is
          // gone — goes to a proxy that is not there, loopback included, so it reaches nothing.
          `--proxy-server=${DEAD_PROXY}`,
          '--proxy-bypass-list=<-loopback>',
        ],
      })
    } catch (e) {
      this.#browser = undefined
      const error = new GatewayError(
        'HM_ERR_SCREENSHOT_UNAVAILABLE',
        `Chromium did not start (${this.#executablePath ?? "playwright's default"}): ${(e as Error).message.split('\n')[0]}`,
      )
      this.#failed = { at: Date.now(), error }
      throw error
    }
    this.#failed = undefined
    // A crashed browser is launched again by the next capture.
    browser.on('disconnected', () => {
      this.#browser = undefined
    })
    if (this.#closed) {
      await browser.close()
      throw new GatewayError('HM_ERR_SCREENSHOT_UNAVAILABLE', 'the gateway is stopping')
    }
    return browser
  }

  async #slot(): Promise<void> {
    if (this.#active < this.#maxPages) {
      this.#active++
      return
    }
    if (this.#waiting.length >= this.#maxQueue)
      throw new GatewayError('HM_ERR_SCREENSHOT_BUSY', `${this.#waiting.length} captures are waiting`, 5)
    await new Promise<void>((resolve) => this.#waiting.push(resolve))
  }

  #release(): void {
    const next = this.#waiting.shift()
    if (next !== undefined) next()
    else this.#active--
  }
}
