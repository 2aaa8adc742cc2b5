/**
 * Simulated visitors for the demo site. `planVisit` turns a random source into one visitor's session —
 * the ingest batches the SDK would have sent — and `startTraffic` plays such visits against a gateway
 * over HTTP at a steady rate. Visits are planned so that they end at the moment they are posted: every
 * timestamp lies in the past, spread over the dwell time the visitor "spent", with no sleeping.
 */
import type { ClickEvent, IngestBatch, MoveEvent, ScrollEvent, WireEvent } from '@hm/actors'
import { DEMO_WIDTH, type DemoElement, type DemoPage, demoPages } from './site.ts'

/** A source of uniform numbers in [0, 1), like `Math.random`. */
export type Random = () => number

export type Device = 'desktop' | 'tablet' | 'mobile'

export interface PlanVisitOptions {
  siteKey: string
  /** Origin the demo pages are served from, e.g. `http://localhost:8080`. */
  origin: string
  /** When the visit ends, in ms since the epoch; the visit is laid out backwards from here. */
  endAt: number
  /** A returning visitor's id; a new one is drawn otherwise. */
  visitorId?: string
}

export interface PlannedVisit {
  visitorId: string
  sessionId: string
  device: Device
  /** The pages viewed, in order. */
  paths: string[]
  batches: IngestBatch[]
}

export interface TrafficOptions {
  /** The gateway, e.g. `http://127.0.0.1:8080`; it serves the demo pages and `/v1/events/collect`. */
  baseUrl: string
  siteKey: string
  visitorsPerMinute: number
  random?: Random
  onError?: (e: unknown) => void
  /** Visitors posting at the same time; an arrival beyond that is skipped and counted. Default 32. */
  maxInFlight?: number
  /** Defaults to the demo site's pages. */
  pages?: readonly DemoPage[]
}

export interface TrafficStats {
  /** Visitors started and arrivals skipped because `maxInFlight` visitors were busy. */
  visitors: number
  skipped: number
  /** Batches and events the gateway accepted. */
  batches: number
  events: number
  /** Batches given up on (after retries, or refused outright). */
  failures: number
}

export interface Traffic {
  /** Stops new visitors and retries; resolves once the posts in flight have ended. */
  stop(): Promise<void>
  stats(): TrafficStats
}

/**
 * A small seeded PRNG (mulberry32) so a planned visit can be replayed.
 *
 * @example
 * const random = seededRandom(42)
 * planVisit(random, demoPages, { siteKey: 'demo_site', origin: 'http://localhost:8080', endAt: Date.now() })
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// ---- random helpers ----

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'

function randomId(random: Random, length = 22): string {
  let s = ''
  for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(random() * 64)]
  return s
}

function gauss(random: Random): number {
  const u = 1 - random()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random())
}

function logNormal(random: Random, median: number, sigma: number): number {
  return median * Math.exp(sigma * gauss(random))
}

function pick<T>(random: Random, items: readonly T[], weight: (item: T) => number): T | undefined {
  let total = 0
  for (const item of items) total += Math.max(0, weight(item))
  let r = random() * total
  for (const item of items) {
    r -= Math.max(0, weight(item))
    if (r < 0) return item
  }
  return undefined
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v))

// ---- visitors ----

/** Inner window sizes (CSS px) of common screens, with how often they are seen. */
const viewports: Record<Device, readonly [vw: number, vh: number, weight: number][]> = {
  desktop: [
    [1280, 610, 8],
    [1366, 657, 14],
    [1440, 789, 12],
    [1536, 753, 14],
    [1600, 789, 6],
    [1680, 939, 6],
    [1920, 969, 40],
  ],
  tablet: [
    [768, 954, 40],
    [810, 1010, 25],
    [820, 1106, 20],
    [1024, 1292, 15],
  ],
  mobile: [
    [360, 640, 25],
    [375, 635, 10],
    [390, 664, 25],
    [393, 727, 15],
    [412, 783, 15],
    [414, 715, 10],
  ],
}

const devices: readonly [Device, number][] = [
  ['desktop', 60],
  ['tablet', 10],
  ['mobile', 30],
]

const userAgents: Record<Device, string> = {
  desktop:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  tablet:
    'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/604.1',
  mobile:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
}

const referrers: readonly [string, number][] = [
  ['', 40],
  ['https://www.google.com/', 35],
  ['https://news.ycombinator.com/', 10],
  ['https://www.linkedin.com/', 8],
  ['https://twitter.com/', 7],
]

/** Pages per session at most; how many a visitor sees comes from the clicks (see `EXIT`). */
const MAX_PAGES = 5

/**
 * Narrow layouts reflow into taller documents: the demo's 1280 px layout is scaled in height by
 * (1280 / width)^0.6 below 1280 px (about ×2.1 on a 375 px phone), and its x by width / 1280.
 */
function layout(page: DemoPage, vw: number) {
  const sx = vw / DEMO_WIDTH
  const sy = vw >= DEMO_WIDTH ? 1 : (DEMO_WIDTH / vw) ** 0.6
  return { sx, sy, dw: vw, dh: Math.round(page.height * sy) }
}

const READING = new Set(['text', 'title', 'heading', 'quote', 'card', 'image', 'code'])

/**
 * Internal links move the visitor on, `#…` links do not. Links to the page itself (a reload) are left
 * out of both the ordinary clicks and the navigation.
 */
function destination(e: DemoElement, pages: readonly DemoPage[]): DemoPage | undefined {
  if (e.href === undefined || e.href.startsWith('#')) return undefined
  const path = e.href.replace(/\/+$/, '')
  return pages.find((p) => p.path.replace(/\/+$/, '') === path)
}

/** The topmost element at a point of the 1280 px layout (later elements paint over earlier ones). */
function elementAt(page: DemoPage, x: number, y: number): DemoElement | undefined {
  for (let i = page.elements.length - 1; i >= 0; i--) {
    const e = page.elements[i]!
    if (x >= e.x && x <= e.x + e.w && y >= e.y && y <= e.y + e.h) return e
  }
  return undefined
}

interface ViewPlan {
  events: WireEvent[]
  /** How long the visitor stayed on the page, in ms. */
  dwell: number
  next?: DemoPage
}

/** Before each click, the chance that the visitor leaves the page instead. */
const EXIT = 0.25
const MAX_CLICKS = 5

/**
 * One page view: pageview, scroll depth growing towards a drawn maximum over most of the dwell time,
 * clicks on elements in view picked by weight — a click on a link to another page (when `goOn`) ends the
 * view and names the next page — and rested cursor positions near elements in view (desktop only: touch
 * screens have no cursor).
 */
function planPageView(
  random: Random,
  page: DemoPage,
  pages: readonly DemoPage[],
  ctx: {
    start: number
    vw: number
    vh: number
    device: Device
    url: string
    referrer: string
    goOn: boolean
  },
): ViewPlan {
  const { sx, sy, dw, dh } = layout(page, ctx.vw)
  const { vw, vh, start, device } = ctx
  const common = (t: number) => ({ ts: Math.round(start + t), url: ctx.url, vw, vh, dw, dh })
  const events: WireEvent[] = []
  const planned = clamp(logNormal(random, device === 'mobile' ? 16_000 : 22_000, 0.8), 3000, 240_000)

  // Scroll depth: everyone sees the fold; a decaying share goes further, mobile visitors scroll more.
  const fold = Math.min(vh, dh)
  const share = random() < 0.12 ? 0 : Math.min(1, -Math.log(1 - random()) / (device === 'mobile' ? 1.1 : 1.4))
  const deepest = fold + (dh - fold) * share
  const scrollTime = planned * 0.7
  const depthAt = (t: number) => Math.round(fold + (deepest - fold) * Math.min(1, t / scrollTime))

  const inView = (e: DemoElement, t: number) => {
    const bottom = depthAt(t)
    return !e.private && e.y * sy < bottom && (e.y + e.h) * sy > bottom - vh
  }

  // Clicks, in time order: each on an element in view, picked by weight among all of them.
  const clicks: { t: number; target: DemoElement }[] = []
  let next: DemoPage | undefined
  let dwell = planned
  let t = 0
  for (let n = 0; n < MAX_CLICKS && random() >= EXIT; n++) {
    t += (planned - t) * (0.05 + 0.45 * random())
    const at = t
    const target = pick(
      random,
      page.elements.filter((e) => {
        const to = destination(e, pages)
        return inView(e, at) && (to === undefined || (ctx.goOn && to !== page))
      }),
      (e) => e.weight,
    )
    if (target === undefined) continue
    clicks.push({ t, target })
    next = destination(target, pages)
    if (next !== undefined) {
      dwell = t
      break
    }
  }

  events.push({ type: 'pageview', ...common(0), ...(ctx.referrer ? { referrer: ctx.referrer } : {}) })
  // Like the SDK: the fold at once, then each further stretch scrolled, the last at the latest on leaving.
  const firstScroll = Math.min(dwell, 300 + random() * 900)
  events.push({ type: 'scroll', ...common(firstScroll), depth: fold } satisfies ScrollEvent)
  const scrolled = Math.min(dwell, scrollTime)
  const steps = depthAt(scrolled) > fold ? 1 + Math.floor(share * 4) : 0
  for (let j = 1; j <= steps; j++) {
    const ts = Math.max(firstScroll, (scrolled * j) / steps)
    events.push({ type: 'scroll', ...common(ts), depth: depthAt(ts) } satisfies ScrollEvent)
  }

  const rest = (t: number, x: number, y: number, ms: number): MoveEvent => ({
    type: 'move',
    ...common(t),
    x: clamp(Math.round(x), 0, dw - 1),
    y: clamp(Math.round(y), 0, dh - 1),
    rest: Math.round(clamp(ms, 300, 30_000)),
  })

  for (const { t, target } of clicks) {
    const px = target.x + target.w * clamp(0.5 + 0.18 * gauss(random), 0.02, 0.98)
    const py = target.y + target.h * clamp(0.5 + 0.22 * gauss(random), 0.05, 0.95)
    const hit = elementAt(page, px, py) ?? target
    if (hit.private) continue // the SDK sends nothing for data-hm-ignore
    const x = clamp(Math.round(px * sx), 0, dw - 1)
    const y = clamp(Math.round(py * sy), 0, dh - 1)
    // The cursor comes to rest on what it is about to click.
    if (device === 'desktop') events.push(rest(t - 1, x, y, logNormal(random, 600, 0.5)))
    const ev: ClickEvent = {
      type: 'click',
      ...common(t),
      x,
      y,
      selector: hit.selector,
      ox: Math.round(((px - hit.x) / hit.w) * 1000) / 1000,
      oy: Math.round(((py - hit.y) / hit.h) * 1000) / 1000,
    }
    events.push(ev)
  }

  if (device === 'desktop' && dwell > 1000) {
    const count = clamp(Math.round((dwell / 3000) * (0.5 + random())), 1, 15)
    for (let i = 0; i < count; i++) {
      const at = 500 + random() * (dwell - 1000)
      const target = pick(
        random,
        page.elements.filter((e) => inView(e, at)),
        (e) => e.weight + (READING.has(e.kind) ? 1 : 0),
      )
      if (target === undefined) continue
      const bottom = depthAt(at)
      const x = (target.x + target.w / 2 + gauss(random) * (target.w * 0.3 + 12)) * sx
      const y = (target.y + target.h / 2 + gauss(random) * (target.h * 0.3 + 12)) * sy
      events.push(rest(at, x, clamp(y, bottom - vh, bottom - 1), 300 + logNormal(random, 700, 0.9)))
    }
  }

  events.sort((a, b) => a.ts - b.ts)
  return { events, dwell, ...(next ? { next } : {}) }
}

/**
 * One visitor's session as the batches the SDK would send: a device and viewport from a realistic mix,
 * 1–5 pages following links (entry mostly home), one or two batches per page view. Deterministic for a
 * given `random`.
 *
 * @example
 * const visit = planVisit(seededRandom(7), demoPages, { siteKey: 'demo_site', origin: 'http://localhost:8080', endAt: Date.now() })
 * visit.batches[0]!.events[0]!.type // 'pageview'
 */
export function planVisit(
  random: Random,
  pages: readonly DemoPage[],
  options: PlanVisitOptions,
): PlannedVisit {
  if (pages.length === 0) throw new RangeError('planVisit needs at least one page')
  const device = pick(random, devices, ([, w]) => w)![0]
  const [vw, vh] = pick(random, viewports[device], ([, , w]) => w)!
  const visitorId = options.visitorId ?? randomId(random)
  const sessionId = randomId(random)
  const home = pages[0]!
  let page: DemoPage | undefined =
    random() < 0.7 ? home : (pick(random, pages, (p) => (p === home ? 0 : p.height > 4000 ? 2 : 1)) ?? home)
  let referrer = pick(random, referrers, ([, w]) => w)![0]
  const origin = options.origin.replace(/\/+$/, '')

  // Planned from offset 0, shifted afterwards so the visit ends at `endAt`.
  const views: ViewPlan[] = []
  const paths: string[] = []
  let t = 0
  for (let i = 0; i < MAX_PAGES && page !== undefined; i++) {
    const url = origin + page.path
    const view = planPageView(random, page, pages, {
      start: t,
      vw,
      vh,
      device,
      url,
      referrer,
      goOn: i < MAX_PAGES - 1,
    })
    views.push(view)
    paths.push(page.path)
    t += view.dwell + 300 + random() * 1200
    referrer = url
    page = view.next
  }
  const shift = options.endAt - Math.ceil(t)

  const batches: IngestBatch[] = []
  const batch = (events: WireEvent[]) =>
    batches.push({ siteKey: options.siteKey, batchId: randomId(random), visitorId, sessionId, events })
  for (const view of views) {
    const events = view.events.map((e) => ({ ...e, ts: e.ts + shift }))
    // Like the SDK's 5 s / 50-event flushes, a long or busy page view goes out in two batches.
    if (events.length > 25 || view.dwell > 30_000) {
      const half = Math.ceil(events.length / 2)
      batch(events.slice(0, half))
      if (events.length > half) batch(events.slice(half))
    } else batch(events)
  }
  return { visitorId, sessionId, device, paths, batches }
}

// ---- playing visits over HTTP ----

const REQUEST_TIMEOUT_MS = 10_000
const MAX_TRIES = 3

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}

/**
 * Plays simulated visitors against a gateway: arrivals at `visitorsPerMinute` on average (Poisson), each
 * visit posted batch by batch to `POST /v1/events/collect`. 429 and 5xx answers are retried with the same
 * batch id (honouring Retry-After), as the SDK does.
 *
 * @example
 * const traffic = startTraffic({ baseUrl: 'http://127.0.0.1:8080', siteKey: 'demo_site', visitorsPerMinute: 60 })
 * // …
 * await traffic.stop()
 */
export function startTraffic(options: TrafficOptions): Traffic {
  const { siteKey, visitorsPerMinute } = options
  if (!(visitorsPerMinute > 0) || !Number.isFinite(visitorsPerMinute)) {
    throw new RangeError(`visitorsPerMinute must be a positive number, got ${visitorsPerMinute}`)
  }
  const random = options.random ?? Math.random
  const pages = options.pages ?? demoPages
  const maxInFlight = options.maxInFlight ?? 32
  const baseUrl = options.baseUrl.replace(/\/+$/, '')
  const endpoint = `${baseUrl}/v1/events/collect`
  const origin = new URL(baseUrl).origin
  const report = options.onError ?? (() => {})
  const stats: TrafficStats = { visitors: 0, skipped: 0, batches: 0, events: 0, failures: 0 }
  const stopping = new AbortController()
  const inFlight = new Set<Promise<void>>()
  /** Recent visitor ids: about one visit in four is a returning visitor. */
  const returning: string[] = []

  async function post(batch: IngestBatch, userAgent: string): Promise<void> {
    const body = JSON.stringify(batch)
    for (let attempt = 1; ; attempt++) {
      let wait: number
      try {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin, 'user-agent': userAgent },
          body,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        })
        const text = await res.text()
        if (res.ok) {
          stats.batches++
          stats.events += batch.events.length
          return
        }
        const error = new Error(`POST ${endpoint} answered ${res.status}: ${text.slice(0, 300)}`)
        if (res.status !== 429 && res.status < 500) {
          stats.failures++
          report(error)
          return
        }
        if (attempt >= MAX_TRIES) throw error
        const retryAfter = Number(res.headers.get('retry-after') ?? Number.NaN)
        wait = Math.min(10_000, Number.isFinite(retryAfter) ? retryAfter * 1000 : 500 * 2 ** attempt)
      } catch (e) {
        if (attempt >= MAX_TRIES) {
          stats.failures++
          report(e)
          return
        }
        wait = 500 * 2 ** attempt
      }
      await sleep(wait, stopping.signal)
      if (stopping.signal.aborted) return
    }
  }

  async function visit(): Promise<void> {
    const again = returning.length > 0 && random() < 0.25
    const visitorId = again ? returning[Math.floor(random() * returning.length)] : undefined
    const plan = planVisit(random, pages, {
      siteKey,
      origin,
      endAt: Date.now(),
      ...(visitorId ? { visitorId } : {}),
    })
    if (!again) {
      returning.push(plan.visitorId)
      if (returning.length > 200) returning.shift()
    }
    for (const batch of plan.batches) {
      if (stopping.signal.aborted) return
      await post(batch, userAgents[plan.device])
    }
  }

  const meanGap = 60_000 / visitorsPerMinute
  let nextArrival = Date.now()
  let timer: NodeJS.Timeout | undefined
  function tick(): void {
    const now = Date.now()
    while (nextArrival <= now && !stopping.signal.aborted) {
      nextArrival += -Math.log(1 - random()) * meanGap
      if (inFlight.size >= maxInFlight) {
        stats.skipped++
        continue
      }
      stats.visitors++
      const p: Promise<void> = visit()
        .catch(report)
        .finally(() => inFlight.delete(p))
      inFlight.add(p)
    }
    if (!stopping.signal.aborted) timer = setTimeout(tick, Math.max(0, nextArrival - Date.now()))
  }
  tick()

  return {
    async stop() {
      stopping.abort()
      clearTimeout(timer)
      while (inFlight.size > 0) await Promise.allSettled([...inFlight])
    },
    stats: () => ({ ...stats }),
  }
}
