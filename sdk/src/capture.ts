/**
 * The browser capture script, bundled by `sdk/build.ts` into `sdk/dist/hm.js` (IIFE, no dependencies).
 *
 * ```html
 * <script src="/sdk/hm.js" data-site="SITEKEY" data-endpoint="/v1/events/collect" defer></script>
 * ```
 *
 * Captures page views (load and SPA route changes), clicks, rested cursor positions and scroll depth,
 * batches them and posts `IngestBatch` bodies. Never reads element text or input values; respects
 * `data-hm-ignore`, Do Not Track, Global Privacy Control and `data-consent-required="true"`.
 */
import type { ClickEvent, IngestBatch, MoveEvent, ScrollEvent, WireEvent } from '@hm/actors'

/** What `window.hm` offers the page. */
export interface HmApi {
  /** Send everything queued now. */
  flush(): void
  /** Grant or revoke consent; with `data-consent-required="true"` nothing is captured before `consent(true)`. */
  consent(granted: boolean): void
  /** Counters for debugging and tests. */
  stats(): { queued: number; sent: number; dropped: number; failed: number }
}

declare global {
  interface Window {
    hm?: HmApi
  }
  interface Navigator {
    globalPrivacyControl?: boolean
  }
}

const FLUSH_MS = 5000
const FLUSH_AT = 50
/** Events per request: keeps each body well below the 64 KiB keepalive/beacon budget. */
const BATCH_MAX = 50
const QUEUE_MAX = 1000
const MAX_TRIES = 5
const SESSION_IDLE_MS = 30 * 60_000
const REST_MS = 300
/** Cursor jitter below this many px does not end a rest. */
const REST_JITTER = 8
/** A cursor left alone for minutes is an absent visitor, not attention; cap what one rest may weigh. */
const REST_CAP_MS = 30_000
const MOVES_PER_VIEW = 300
/** Scroll depth is reported when it grows by one grid band (the actors' y resolution). */
const BAND = 16
const SCROLL_CHECK_MS = 250
const IGNORE = '[data-hm-ignore]'
const VID_KEY = 'hm_vid'
const SID_KEY = 'hm_sid'

type Common = Pick<WireEvent, 'ts' | 'url' | 'vw' | 'vh' | 'dw' | 'dh'>
interface Queued {
  ev: WireEvent
  sid: string
}
interface Outgoing {
  batchId: string
  sid: string
  events: WireEvent[]
  tries: number
  due: number
  busy: boolean
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'

function randomId(length = 22): string {
  const bytes = new Uint8Array(length)
  const c = typeof crypto !== 'undefined' ? crypto : undefined
  if (c?.getRandomValues) c.getRandomValues(bytes)
  else for (let i = 0; i < length; i++) bytes[i] = Math.floor(Math.random() * 256)
  let s = ''
  for (let i = 0; i < length; i++) s += ALPHABET[bytes[i]! & 63]
  return s
}

/** Storage can throw (blocked cookies, sandboxed frames): fall back to memory for this page. */
function store(kind: 'localStorage' | 'sessionStorage') {
  const memory: Record<string, string> = {}
  return {
    get(key: string): string | null {
      try {
        return window[kind].getItem(key)
      } catch {
        return memory[key] ?? null
      }
    },
    set(key: string, value: string): void {
      try {
        window[kind].setItem(key, value)
      } catch {
        memory[key] = value
      }
    },
    remove(key: string): void {
      try {
        window[kind].removeItem(key)
      } catch {
        delete memory[key]
      }
    },
  }
}

/** Origin, path and fragment: the query string may carry personal data and never leaves the browser. */
function cleanUrl(href: string): string {
  try {
    const u = new URL(href)
    return (u.origin + u.pathname + u.hash).slice(0, 2048)
  } catch {
    return ''
  }
}

/**
 * What makes a new page view: the path, plus the fragment only when it is an SPA route (`#/…`, `#!/…`),
 * so jumping to an in-page anchor is not counted as a page view (the actors' `normalizePage` agrees).
 */
function routeOf(url: string): string {
  const i = url.indexOf('#')
  if (i < 0) return url
  const hash = url.slice(i)
  return hash.startsWith('#/') || hash.startsWith('#!/') ? url : url.slice(0, i)
}

const clampInt = (n: number, max: number) => Math.max(0, Math.min(max, Math.round(n)))
const share = (n: number) => Math.max(0, Math.min(1, Math.round(n * 1000) / 1000))

function esc(s: string): string {
  return typeof CSS !== 'undefined' && CSS.escape ? CSS.escape(s) : s.replace(/[^\w-]/g, '\\$&')
}

/**
 * A CSS selector for an element built from structure only (never text): the nearest id, else up to five
 * levels of `tag.class:nth-of-type(n)`.
 */
function selectorOf(el: Element): string | undefined {
  const parts: string[] = []
  let node: Element | null = el
  while (node && parts.length < 5 && node !== document.documentElement) {
    if (node.id) {
      parts.unshift(`#${esc(node.id)}`)
      break
    }
    let part = node.tagName.toLowerCase()
    if (part === 'body') {
      parts.unshift(part)
      break
    }
    const classes = typeof node.className === 'string' ? node.className.trim().split(/\s+/) : []
    for (const c of classes.slice(0, 3)) if (c) part += `.${esc(c)}`
    const parent: Element | null = node.parentElement
    if (parent) {
      let index = 0
      let same = 0
      for (const sibling of Array.from(parent.children)) {
        if (sibling.tagName === node.tagName) {
          same++
          if (sibling === node) index = same
        }
      }
      if (same > 1) part += `:nth-of-type(${index})`
    }
    parts.unshift(part)
    node = parent
  }
  const s = parts.join(' > ')
  return s && s.length <= 512 ? s : undefined
}

function ignored(target: EventTarget | null): boolean {
  const el = target instanceof Element ? target : null
  return !!el?.closest(IGNORE)
}

function start(): void {
  // Loaded twice (tag pasted twice, or in both head and body): the first copy does the work.
  if (window.hm?.stats) return
  const script = (document.currentScript ??
    document.querySelector('script[data-site]')) as HTMLScriptElement | null
  const siteKey = script?.getAttribute('data-site') ?? ''
  const local = store('localStorage')
  const session = store('sessionStorage')
  let granted = script?.getAttribute('data-consent-required') !== 'true'
  let sent = 0
  let dropped = 0
  let failed = 0
  let queue: Queued[] = []
  let outbox: Outgoing[] = []
  // The current page view: its URL, the deepest point reached and reported, rested-cursor state.
  let viewUrl = ''
  let maxDepth = 0
  let reportedDepth = 0
  let lastScrollCheck = 0
  let moves = 0
  let rest: { x: number; y: number; t: number; skip: boolean } | null = null

  const nav = navigator
  const validKey = /^[A-Za-z0-9_-]{4,64}$/.test(siteKey)
  const optedOut = nav.doNotTrack === '1' || nav.globalPrivacyControl === true || !validKey
  const api: HmApi = {
    flush: () => flush(false),
    consent(value) {
      if (optedOut || value === granted) return
      granted = value
      if (value) beginView(document.referrer)
      else {
        // Revoked: what was captured under consent is discarded and the ids forgotten.
        queue = []
        outbox = []
        viewUrl = ''
        rest = null
        local.remove(VID_KEY)
        session.remove(SID_KEY)
      }
    },
    stats: () => ({
      queued: queue.length + outbox.reduce((n, b) => n + b.events.length, 0),
      sent,
      dropped,
      failed,
    }),
  }
  window.hm = api
  if (optedOut) {
    if (!validKey) console.warn('hm: the script tag needs data-site="<site key>"; capturing nothing')
    return
  }

  // A relative data-endpoint is resolved against the script's own URL: the gateway that serves the script
  // is the one that takes the events, wherever the page itself lives.
  const src = script?.src || location.href
  let endpoint: string
  try {
    endpoint = new URL(script?.getAttribute('data-endpoint') || '/v1/events/collect', src).href
  } catch {
    return
  }

  /** `data-hm-ignore` on `<html>` or `<body>` switches the whole page off. */
  const active = () => granted && !(document.body ?? document.documentElement).closest(IGNORE)

  function visitorId(): string {
    let id = local.get(VID_KEY)
    if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      id = randomId()
      local.set(VID_KEY, id)
    }
    return id
  }

  /** The session id, renewed after 30 minutes without an event; stored as `id.lastActivity`. */
  function sessionId(now: number): string {
    const [id, last] = (session.get(SID_KEY) ?? '').split('.')
    const fresh =
      id && /^[A-Za-z0-9_-]{1,64}$/.test(id) && now - Number(last) < SESSION_IDLE_MS ? id : randomId()
    session.set(SID_KEY, `${fresh}.${now}`)
    return fresh
  }

  function common(): Common {
    const d = document.documentElement
    const b = document.body
    return {
      ts: Date.now(),
      url: cleanUrl(location.href) || 'about:blank',
      vw: Math.max(1, Math.min(20_000, Math.round(window.innerWidth))),
      vh: Math.max(1, Math.min(20_000, Math.round(window.innerHeight))),
      dw: Math.max(1, Math.min(100_000, Math.max(d.scrollWidth, b ? b.scrollWidth : 0))),
      dh: docHeight(),
    }
  }

  function docHeight(): number {
    const b = document.body
    return Math.max(
      1,
      Math.min(1_000_000, Math.max(document.documentElement.scrollHeight, b ? b.scrollHeight : 0)),
    )
  }

  function push(ev: WireEvent): void {
    if (!active()) return
    queue.push({ ev, sid: sessionId(ev.ts) })
    let excess = queue.length + outbox.reduce((n, b) => n + b.events.length, 0) - QUEUE_MAX
    // Over the cap the oldest goes first: a whole retrying batch (its id must keep its content), else events.
    while (excess > 0) {
      const idle = outbox.findIndex((b) => !b.busy)
      if (idle >= 0) {
        const [b] = outbox.splice(idle, 1)
        dropped += b!.events.length
        excess -= b!.events.length
      } else {
        queue.shift()
        dropped++
        excess--
      }
    }
    if (queue.length >= FLUSH_AT) flush(false)
  }

  // ---- batching and delivery ----

  function enqueueBatches(): void {
    let current: Outgoing | undefined
    for (const q of queue) {
      if (!current || current.sid !== q.sid || current.events.length >= BATCH_MAX) {
        current = { batchId: randomId(), sid: q.sid, events: [], tries: 0, due: 0, busy: false }
        outbox.push(current)
      }
      current.events.push(q.ev)
    }
    queue = []
  }

  function body(b: Outgoing): string {
    const batch: IngestBatch = {
      siteKey,
      batchId: b.batchId,
      visitorId: visitorId(),
      sessionId: b.sid,
      events: b.events,
    }
    return JSON.stringify(batch)
  }

  function done(b: Outgoing): void {
    outbox = outbox.filter((o) => o !== b)
  }

  function send(b: Outgoing): void {
    b.busy = true
    b.tries++
    const retry = (after: number) => {
      b.busy = false
      if (b.tries >= MAX_TRIES || !outbox.includes(b)) {
        if (outbox.includes(b)) {
          failed++
          dropped += b.events.length
          done(b)
        }
        return
      }
      const wait = Math.max(after, 1000 * 2 ** (b.tries - 1) * (0.75 + Math.random() / 2))
      b.due = Date.now() + wait
      // The timer sends this batch itself: comparing `due` with a clock read in the timer could be off by one.
      setTimeout(() => {
        if (!b.busy && outbox.includes(b)) send(b)
      }, wait)
    }
    fetch(endpoint, {
      method: 'POST',
      body: body(b),
      headers: { 'content-type': 'application/json' },
      keepalive: true,
      credentials: 'omit',
    }).then(
      (res) => {
        if (res.ok) {
          sent += b.events.length
          b.busy = false
          done(b)
        } else if (res.status === 429 || res.status >= 500) {
          retry(Number(res.headers.get('retry-after')) * 1000 || 0)
        } else {
          // A 4xx other than 429 will fail the same way every time: count it, do not retry.
          b.busy = false
          failed++
          dropped += b.events.length
          done(b)
        }
      },
      () => retry(0),
    )
  }

  function pump(): void {
    const now = Date.now()
    for (const b of outbox) if (!b.busy && b.due <= now) send(b)
  }

  /** `leaving`: the page is being hidden or unloaded, so use sendBeacon, which survives the unload. */
  function flush(leaving: boolean): void {
    if (!granted) return
    // A rest still going on at a timed flush is reported when it ends; leaving ends it now.
    if (leaving) endRest(Date.now())
    reportScroll(true)
    enqueueBatches()
    if (!leaving || !nav.sendBeacon) {
      pump()
      return
    }
    for (const b of outbox) {
      if (b.busy) continue // a keepalive fetch is on its way already
      if (nav.sendBeacon(endpoint, new Blob([body(b)], { type: 'text/plain' }))) {
        sent += b.events.length
        done(b)
      }
    }
  }

  // ---- page views ----

  function beginView(referrer: string): void {
    if (!granted) return
    reportScroll(true)
    endRest(Date.now())
    viewUrl = cleanUrl(location.href)
    maxDepth = 0
    reportedDepth = 0
    moves = 0
    const ref = cleanUrl(referrer)
    push({ type: 'pageview', ...common(), ...(ref ? { referrer: ref } : {}) })
    measureDepth()
  }

  function routeChanged(): void {
    // A replaceState that only touches the query string, or an anchor jump, is the same page view.
    if (routeOf(cleanUrl(location.href)) !== routeOf(viewUrl)) beginView(viewUrl)
  }

  for (const name of ['pushState', 'replaceState'] as const) {
    const original = history[name]
    history[name] = function (this: History, ...args: Parameters<History['pushState']>) {
      const r = original.apply(this, args)
      routeChanged()
      return r
    }
  }
  addEventListener('popstate', routeChanged)
  addEventListener('hashchange', routeChanged)

  // ---- scroll depth ----

  function measureDepth(): void {
    maxDepth = Math.max(maxDepth, Math.min(docHeight(), Math.round(window.scrollY + window.innerHeight)))
  }

  function reportScroll(force: boolean): void {
    if (!viewUrl || maxDepth <= reportedDepth || (!force && maxDepth < reportedDepth + BAND)) return
    reportedDepth = maxDepth
    const ev: ScrollEvent = { type: 'scroll', ...common(), depth: clampInt(maxDepth, 1_000_000) }
    push(ev)
  }

  addEventListener(
    'scroll',
    () => {
      if (!active()) return
      measureDepth()
      const now = Date.now()
      if (now - lastScrollCheck >= SCROLL_CHECK_MS) {
        lastScrollCheck = now
        reportScroll(false)
      }
    },
    { passive: true },
  )

  // ---- clicks ----

  addEventListener(
    'click',
    (e: MouseEvent) => {
      if (!active() || ignored(e.target) || !(e.target instanceof Element)) return
      // Keyboard activation has no pointer position: it would paint a spot in the top-left corner.
      if (e.detail === 0 && e.clientX === 0 && e.clientY === 0) return
      const el = e.target
      const rect = el.getBoundingClientRect()
      const ev: ClickEvent = {
        type: 'click',
        ...common(),
        x: clampInt(e.pageX, 1_000_000),
        y: clampInt(e.pageY, 1_000_000),
      }
      const selector = selectorOf(el)
      if (selector) ev.selector = selector
      if (rect.width > 0 && rect.height > 0) {
        ev.ox = share((e.clientX - rect.left) / rect.width)
        ev.oy = share((e.clientY - rect.top) / rect.height)
      }
      push(ev)
    },
    { capture: true, passive: true },
  )

  // ---- rested cursor ----

  function endRest(now: number): void {
    const r = rest
    rest = null
    if (!r || r.skip || now - r.t < REST_MS || moves >= MOVES_PER_VIEW || !viewUrl) return
    moves++
    const ev: MoveEvent = {
      type: 'move',
      ...common(),
      x: clampInt(r.x, 1_000_000),
      y: clampInt(r.y, 1_000_000),
      rest: Math.min(REST_CAP_MS, now - r.t),
    }
    push(ev)
  }

  addEventListener(
    'pointermove',
    (e: PointerEvent) => {
      if (e.pointerType !== 'mouse' || !active()) return
      if (rest && Math.abs(e.pageX - rest.x) <= REST_JITTER && Math.abs(e.pageY - rest.y) <= REST_JITTER)
        return
      const now = Date.now()
      endRest(now)
      rest = { x: e.pageX, y: e.pageY, t: now, skip: ignored(e.target) }
    },
    { passive: true },
  )
  document.addEventListener('mouseleave', () => endRest(Date.now()))

  // ---- lifecycle ----

  setInterval(() => {
    if (granted) {
      reportScroll(true)
      if (queue.length > 0) flush(false)
    }
  }, FLUSH_MS)
  addEventListener('pagehide', () => flush(true))
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden') flush(true)
  })
  // Back/forward cache restores the page without reloading the script: that is a new page view.
  addEventListener('pageshow', (e: PageTransitionEvent) => {
    if (e.persisted) beginView(document.referrer)
  })

  beginView(document.referrer)
}

start()
