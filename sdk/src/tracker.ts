import type { ClickEvent, MoveEvent, WireEvent } from '@hm/actors'
import { attention, BAND } from './attention.ts'
import { deadClicks, rageClicks } from './clicks.ts'
import { delivery } from './delivery.ts'
import { IGNORE, ignored, selectorOf } from './dom.ts'
import { randomId, store } from './store.ts'
import { cleanUrl } from './url.ts'

/** What the page (or an app importing the SDK) is given. */
export interface HmApi {
  /** Send everything queued now. */
  flush(): void
  /** Grant or revoke consent; with consent required, nothing is captured before `consent(true)`. */
  consent(granted: boolean): void
  /** Counters for debugging and tests. */
  stats(): { queued: number; sent: number; dropped: number; failed: number }
}

export interface TrackerOptions {
  /** The website's site key. */
  siteKey: string
  /** Absolute URL of the ingest endpoint, e.g. `https://gateway.example/v1/events/collect`. */
  endpoint: string
  /**
   * Capture nothing before `consent(true)`, and send nothing before the gateway has recorded it (a site
   * that requires consent drops the events of visitors without a recorded grant).
   */
  consentRequired?: boolean
  /** Where consent decisions are posted; `/v1/consent` on the endpoint's origin by default. */
  consentEndpoint?: string
  /** Capture nothing at all (the site's owner looking at the heatmap overlay is not a visitor). */
  disabled?: boolean
}

declare global {
  interface Navigator {
    globalPrivacyControl?: boolean
  }
}

const FLUSH_MS = 5000
const FLUSH_AT = 50
/** Attention is sent with other events, and at least this often while it grows. */
const ATTENTION_MS = 30_000
const SESSION_IDLE_MS = 30 * 60_000
const REST_MS = 300
/** Cursor jitter below this many px does not end a rest. */
const REST_JITTER = 8
/** A cursor left alone for minutes is an absent visitor, not attention; cap what one rest may weigh. */
const REST_CAP_MS = 30_000
const MOVES_PER_VIEW = 300
const SCROLL_CHECK_MS = 250
const VID_KEY = 'hm_vid'
const SID_KEY = 'hm_sid'
/** The visitor id whose grant the gateway has recorded: a later page of the visit does not post it again. */
const CONSENT_KEY = 'hm_consent'
const CONSENT_TRIES = 5
const ID = /^[A-Za-z0-9_-]{1,64}$/
/**
 * Clicks whose effect may come later than a second, or is not a DOM change: links that navigate, form
 * submits, form fields (focus, typing), editable content. They are never reported dead.
 */
const NO_DEAD =
  'a[href]:not([href^="#"]):not([href^="javascript:"]),input,select,textarea,label,option,[contenteditable],[type=submit],form button:not([type=button])'

type Common = Pick<WireEvent, 'ts' | 'url' | 'vw' | 'vh' | 'dw' | 'dh'>

const clampInt = (n: number, max = 1_000_000) => Math.max(0, Math.min(max, Math.round(n)))
const share = (n: number) => Math.max(0, Math.min(1, Math.round(n * 1000) / 1000))

/**
 * Starts capturing on this page: page views (load and SPA route changes), clicks with their element's
 * selector and offset, rage and dead clicks, rested cursor positions, scroll depth and attention —
 * batched and posted to `endpoint`. Never reads text or input values; honours `data-hm-ignore`,
 * `data-hm-mask`, Do Not Track, Global Privacy Control and consent.
 *
 * @example
 * ```ts
 * import { createTracker } from '@hm/sdk/browser'
 * const hm = createTracker({ siteKey: 'SITE_KEY', endpoint: 'https://gw.example/v1/events/collect', consentRequired: true })
 * banner.onAccept(() => hm.consent(true))
 * ```
 */
export function createTracker(options: TrackerOptions): HmApi {
  const { siteKey, endpoint } = options
  const local = store('localStorage')
  const session = store('sessionStorage')
  const nav = navigator
  const validKey = /^[A-Za-z0-9_-]{4,64}$/.test(siteKey)
  const optedOut =
    !!options.disabled ||
    nav.doNotTrack === '1' ||
    (window as { doNotTrack?: string }).doNotTrack === '1' ||
    nav.globalPrivacyControl === true ||
    !validKey
  let granted = !options.consentRequired && !optedOut
  // The current page view: its URL, the deepest point reached and reported, rested-cursor state.
  let viewUrl = ''
  let maxDepth = 0
  let reportedDepth = 0
  let lastScrollCheck = 0
  let lastAttention = 0
  let moves = 0
  let rest: { x: number; y: number; t: number; skip: boolean } | null = null

  const out = delivery({ endpoint, siteKey, visitorId })
  let consentUrl = ''
  try {
    consentUrl = new URL(options.consentEndpoint || '/v1/consent', endpoint).href
  } catch {}
  /** Increments with each decision: an answer for an earlier one is ignored. */
  let decision = 0

  /** Posts the visitor's decision; resolves whether the gateway recorded it. */
  function postConsent(vid: string, value: boolean): Promise<boolean> {
    if (!consentUrl) return Promise.resolve(false)
    return fetch(consentUrl, {
      method: 'POST',
      body: JSON.stringify({ siteKey, visitorId: vid, granted: value }),
      headers: { 'content-type': 'application/json' },
      keepalive: true,
      credentials: 'omit',
    }).then(
      (res) => res.ok,
      () => false,
    )
  }

  /** Records a grant, retrying with backoff; events wait until it is recorded. */
  function grant(mine: number, tries = 0): void {
    const vid = visitorId()
    if (local.get(CONSENT_KEY) === vid) {
      release()
      return
    }
    out.hold(true)
    void postConsent(vid, true).then((ok) => {
      if (mine !== decision) return
      if (ok) {
        local.set(CONSENT_KEY, vid)
        release()
      } else if (tries + 1 < CONSENT_TRIES) setTimeout(() => grant(mine, tries + 1), 1000 * 2 ** tries)
    })
  }

  function release(): void {
    out.hold(false)
    flush(false)
  }

  const api: HmApi = {
    flush: () => flush(false),
    consent(value) {
      if (optedOut || value === granted) return
      granted = value
      const mine = ++decision
      if (value) {
        // The page view starts now; with consent required it leaves once the gateway has the grant.
        beginView(document.referrer)
        if (options.consentRequired) grant(mine)
        else void postConsent(visitorId(), true)
      } else {
        // Revoked: recorded for the visitor id it was given under, then what was captured is discarded and
        // the ids forgotten.
        const vid = local.get(VID_KEY)
        if (vid && ID.test(vid)) void postConsent(vid, false)
        out.hold(false)
        out.clear()
        viewUrl = ''
        rest = null
        local.remove(VID_KEY)
        local.remove(CONSENT_KEY)
        session.remove(SID_KEY)
      }
    },
    stats: out.stats,
  }
  if (optedOut) {
    if (!validKey) console.warn('hm: a site key is needed (data-site="<site key>"); capturing nothing')
    return api
  }

  const visible = () => document.visibilityState === 'visible'
  /** `data-hm-ignore` on `<html>` or `<body>` switches the whole page off. */
  const active = () => granted && !(document.body ?? document.documentElement).closest(IGNORE)
  const att = attention(() => [window.scrollY, window.scrollY + window.innerHeight], visible)
  const dead = deadClicks(visible)
  const rage = rageClicks((first, count, selector) =>
    push({
      type: 'rage',
      ...common(first.t),
      x: first.x,
      y: first.y,
      count,
      ...(selector ? { selector } : {}),
    }),
  )

  function visitorId(): string {
    let id = local.get(VID_KEY)
    if (!id || !ID.test(id)) {
      id = randomId()
      local.set(VID_KEY, id)
    }
    return id
  }

  /** The session id, renewed after 30 minutes without an event; stored as `id.lastActivity`. */
  function sessionId(now: number): string {
    const [id, last] = (session.get(SID_KEY) ?? '').split('.')
    const fresh = id && ID.test(id) && now - Number(last) < SESSION_IDLE_MS ? id : randomId()
    session.set(SID_KEY, `${fresh}.${now}`)
    return fresh
  }

  function docHeight(): number {
    const b = document.body
    return Math.max(
      1,
      Math.min(1_000_000, Math.max(document.documentElement.scrollHeight, b ? b.scrollHeight : 0)),
    )
  }

  /** Fields every event has; the URL is the page view's, so events closing a view carry its URL. */
  function common(ts = Date.now()): Common {
    const d = document.documentElement
    const b = document.body
    return {
      ts,
      url: viewUrl || 'about:blank',
      vw: Math.max(1, Math.min(20_000, Math.round(window.innerWidth))),
      vh: Math.max(1, Math.min(20_000, Math.round(window.innerHeight))),
      dw: Math.max(1, Math.min(100_000, Math.max(d.scrollWidth, b ? b.scrollWidth : 0))),
      dh: docHeight(),
    }
  }

  function push(ev: WireEvent): void {
    if (active() && out.push(ev, sessionId(ev.ts)) >= FLUSH_AT) flush(false)
  }

  function emitAttention(now: number): void {
    lastAttention = now
    for (const run of att.take(now)) push({ type: 'attention', ...common(now), ...run })
  }

  /** `leaving`: the page is being hidden or unloaded; what is pending is finished and sent by beacon. */
  function flush(leaving: boolean): void {
    if (!granted) return
    const now = Date.now()
    if (leaving) {
      endRest(now)
      rage.end()
      dead.cancel()
    }
    reportScroll(true)
    if (leaving || now - lastAttention >= ATTENTION_MS) emitAttention(now)
    out.flush(leaving)
  }

  // ---- page views ----

  function beginView(referrer: string): void {
    if (!granted) return
    const now = Date.now()
    // The view that ends reports what it still holds, under its own URL; before the first view (or
    // consent) nothing was captured, so the attention clock just starts.
    if (viewUrl) {
      reportScroll(true)
      endRest(now)
      rage.end()
      emitAttention(now)
    } else att.take(now)
    viewUrl = cleanUrl(location.href)
    maxDepth = 0
    reportedDepth = 0
    moves = 0
    const ref = cleanUrl(referrer)
    push({ type: 'pageview', ...common(now), ...(ref ? { referrer: ref } : {}) })
    measureDepth()
  }

  function routeChanged(): void {
    dead.change()
    // A replaceState that only touches the query string, or an anchor jump, is the same page view.
    if (granted && cleanUrl(location.href) !== viewUrl) beginView(viewUrl)
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

  // ---- scroll depth and attention ----

  function measureDepth(): void {
    maxDepth = Math.max(maxDepth, Math.min(docHeight(), Math.round(window.scrollY + window.innerHeight)))
  }

  function reportScroll(force: boolean): void {
    if (!viewUrl || maxDepth <= reportedDepth || (!force && maxDepth < reportedDepth + BAND)) return
    reportedDepth = maxDepth
    push({ type: 'scroll', ...common(), depth: clampInt(maxDepth) })
  }

  addEventListener(
    'scroll',
    () => {
      const now = Date.now()
      dead.change()
      att.poke(now)
      att.checkpoint(now)
      if (!active()) return
      measureDepth()
      if (now - lastScrollCheck >= SCROLL_CHECK_MS) {
        lastScrollCheck = now
        reportScroll(false)
      }
    },
    { passive: true },
  )
  for (const name of ['keydown', 'wheel', 'touchstart'])
    addEventListener(name, () => att.poke(Date.now()), { passive: true, capture: true })

  // ---- clicks, rage clicks, dead clicks ----

  addEventListener(
    'click',
    (e: MouseEvent) => {
      const now = Date.now()
      att.poke(now)
      const el = e.target
      if (!active() || ignored(el) || !(el instanceof Element)) return
      // Keyboard activation has no pointer position: it would paint a spot in the top-left corner.
      if (e.detail === 0 && e.clientX === 0 && e.clientY === 0) return
      const rect = el.getBoundingClientRect()
      const x = clampInt(e.pageX)
      const y = clampInt(e.pageY)
      const selector = selectorOf(el)
      const ev: ClickEvent = { type: 'click', ...common(now), x, y }
      if (selector) ev.selector = selector
      if (rect.width > 0 && rect.height > 0) {
        ev.ox = share((e.clientX - rect.left) / rect.width)
        ev.oy = share((e.clientY - rect.top) / rect.height)
      }
      push(ev)
      rage.click(x, y, now, selector)
      if (!el.closest(NO_DEAD) && getSelection()?.isCollapsed !== false) {
        dead.click(now, () => push({ type: 'dead', ...common(now), x, y, ...(selector ? { selector } : {}) }))
      }
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
      x: clampInt(r.x),
      y: clampInt(r.y),
      rest: Math.min(REST_CAP_MS, now - r.t),
    }
    push(ev)
  }

  addEventListener(
    'pointermove',
    (e: PointerEvent) => {
      if (e.pointerType !== 'mouse') return
      const now = Date.now()
      att.poke(now)
      if (!active()) return
      if (rest && Math.abs(e.pageX - rest.x) <= REST_JITTER && Math.abs(e.pageY - rest.y) <= REST_JITTER)
        return
      endRest(now)
      rest = { x: e.pageX, y: e.pageY, t: now, skip: ignored(e.target) }
    },
    { passive: true },
  )
  document.addEventListener('mouseleave', () => endRest(Date.now()))

  // ---- lifecycle ----

  setInterval(() => {
    if (!granted) return
    reportScroll(true)
    if (out.stats().queued > 0 || Date.now() - lastAttention >= ATTENTION_MS) flush(false)
  }, FLUSH_MS)
  addEventListener('pagehide', () => flush(true))
  document.addEventListener('visibilitychange', () => {
    att.checkpoint(Date.now())
    if (!visible()) flush(true)
  })
  // Back/forward cache restores the page without reloading the script: that is a new page view.
  addEventListener('pageshow', (e: PageTransitionEvent) => {
    if (e.persisted) {
      viewUrl = ''
      beginView(document.referrer)
    }
  })

  att.checkpoint(Date.now())
  beginView(document.referrer)
  return api
}
