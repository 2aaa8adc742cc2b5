import type { IncomingHttpHeaders } from 'node:http'
import {
  type AcceptedEvent,
  type BatchContext,
  type IngestBatch,
  normalizePage,
  routeBatch,
  type WireEvent,
} from '@hm/actors'
import { RuntimeError, type Transport } from '@hm/runtime'
import type pg from 'pg'
import { consentGranted } from '../accounts/consent.ts'
import { type SiteForIngest, siteByKey } from '../accounts/websites.ts'
import { GatewayError } from '../errors.ts'
import { originAllowed } from '../origins.ts'
import type { Cache } from '../stores/cache.ts'
import { impossiblePace, isBotUserAgent, isBrowserUserAgent } from './bots.ts'
import type { DropReason } from './drops.ts'
import type { Endpoint } from './endpoints.ts'
import { anonymiseIp } from './ip.ts'
import type { IngestMetrics } from './metrics.ts'
import { cleanReferrer, scrubPii } from './pii.ts'
import { type Haltable, Pipeline, type Step } from './pipeline.ts'
import { RateLimiter } from './rate-limit.ts'
import { UserAgentParser } from './user-agent.ts'
import { validateBatch } from './validate.ts'

/** Limits and options of the ingest pipeline, from the configuration. */
export interface IngestSettings {
  maxBodyBytes: number
  rateLimitWindowMs: number
  /** Requests per window per anonymised client address; 0 turns the limit off. */
  rateLimitPerIp: number
  /** Requests per window per website; 0 turns the limit off. */
  rateLimitPerSite: number
  /** Lower-case name of the trusted CDN header carrying the visitor's country, if any. */
  countryHeader: string | undefined
  /** Page actors per page, by session (`routeBatch`'s `pageSplits`; 1 by default). */
  pageSplits?: number
}

export interface IngestDeps {
  transport: Transport
  pool: pg.Pool
  cache: Cache
  shardCount: number
  settings: IngestSettings
  metrics: IngestMetrics
  now: () => number
  warn: (err: unknown, msg: string) => void
}

/** The 202 body: events kept, events dropped (by the filters), and whether the batch was a retry. */
export interface IngestResult {
  accepted: number
  dropped: number
  duplicate: boolean
}

/** One request travelling through the pipeline. */
export interface IngestContext extends Haltable {
  readonly endpoint: Endpoint
  readonly now: number
  readonly headers: IncomingHttpHeaders
  /** The body as received; released once parsed. */
  raw: string | undefined
  /** The client address: anonymised by the first step, so no later step (or store) sees it whole. */
  ip: string
  value: unknown
  batch: IngestBatch | undefined
  site: SiteForIngest | undefined
  /** The events still kept. */
  events: WireEvent[]
  dropped: number
  attribution: Omit<BatchContext, 'siteId' | 'visitorId' | 'sessionId'>
  accepted: AcceptedEvent[]
  result: IngestResult | undefined
}

export function newContext(
  endpoint: Endpoint,
  body: unknown,
  ip: string | undefined,
  headers: IncomingHttpHeaders,
  now: number,
): IngestContext {
  return {
    halted: false,
    endpoint,
    now,
    headers,
    raw: typeof body === 'string' ? body : '',
    ip: ip ?? '',
    value: undefined,
    batch: undefined,
    site: undefined,
    events: [],
    dropped: 0,
    attribution: {},
    accepted: [],
    result: undefined,
  }
}

/** Events stamped further ahead than this by the browser's clock are stamped with the gateway's. */
const MAX_CLOCK_AHEAD_MS = 60_000
/** Events older than this are dropped as `stale`: no report looks that far back for fresh data. */
const MAX_AGE_MS = 30 * 86_400_000
/** Country codes CDNs use for "unknown" and "Tor exit", which are not countries. */
const NOT_COUNTRIES = new Set(['XX', 'T1', 'ZZ'])

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name]
  return Array.isArray(v) ? v[0] : v
}

/** A site whose `#/` routes are not pages of their own: the fragment goes before normalising. */
function withoutFragment(url: string): string {
  const hash = url.indexOf('#')
  return hash < 0 ? url : url.slice(0, hash)
}

/** A site with strict masking keeps only tags and positions of selectors: no ids, classes or attributes. */
export function tagsOnly(selector: string): string {
  return selector.replace(/\[[^\]]*\]/g, '').replace(/[#.](?:\\.|[^\s>+~:#.[\]])+/g, '')
}

/**
 * The ingest pipeline: each step a named function over the request's context, timed by the pipeline.
 * The order is the cheapest refusal first; nothing is kept before the IP is anonymised and the filters
 * and scrubbers have run.
 */
export function createIngestPipeline(deps: IngestDeps): Pipeline<IngestContext> {
  const { settings, metrics } = deps
  const limiter = new RateLimiter({
    cache: deps.cache,
    windowMs: settings.rateLimitWindowMs,
    now: deps.now,
    onError: (err) => {
      metrics.rateLimitErrors.inc()
      deps.warn(err, 'ingest: rate limit check failed; request let through')
    },
  })
  const userAgents = new UserAgentParser()

  function drop(c: IngestContext, reason: DropReason, events: readonly WireEvent[]): void {
    if (events.length === 0) return
    metrics.dropped.labels(reason).inc(events.length)
    c.dropped += events.length
    const gone = new Set(events)
    c.events = c.events.filter((e) => !gone.has(e))
    if (c.events.length === 0) {
      c.result = { accepted: 0, dropped: c.dropped, duplicate: false }
      c.halted = true
    }
  }

  async function limit(key: string, max: number, who: string): Promise<void> {
    const verdict = await limiter.hit(key, max)
    if (!verdict.ok) {
      throw new GatewayError(
        'HM_ERR_INGEST_RATE_LIMITED',
        `${max} requests per ${settings.rateLimitWindowMs / 1000} s ${who}`,
        verdict.retryAfterS,
      )
    }
  }

  const steps: Array<Step<IngestContext>> = [
    {
      name: 'anonymise_ip',
      run: (c) => {
        c.ip = anonymiseIp(c.ip || undefined)
      },
    },
    {
      name: 'size',
      run: (c) => {
        const bytes = Buffer.byteLength(c.raw ?? '')
        if (bytes > settings.maxBodyBytes) {
          throw new GatewayError('HM_ERR_INGEST_TOO_LARGE', `${bytes} bytes; limit ${settings.maxBodyBytes}`)
        }
      },
    },
    { name: 'rate_ip', run: (c) => limit(`ip:${c.ip}`, settings.rateLimitPerIp, 'from one client address') },
    {
      name: 'parse',
      run: (c) => {
        try {
          c.value = JSON.parse(c.raw ?? '')
        } catch (e) {
          throw new GatewayError('HM_ERR_INGEST_BAD_JSON', (e as Error).message)
        }
        c.raw = undefined
      },
    },
    {
      name: 'site_key',
      run: (c) => {
        const v = c.value
        if (typeof v !== 'object' || v === null || Array.isArray(v)) return // the schema names it
        const key = (v as { siteKey?: unknown }).siteKey
        if (key === undefined || key === null || key === '') {
          throw new GatewayError('HM_ERR_INGEST_NO_SITE_KEY', 'siteKey: missing')
        }
      },
    },
    {
      name: 'validate',
      run: (c) => {
        const { batch, problem } = validateBatch(c.value, c.endpoint)
        if (problem !== undefined) throw new GatewayError('HM_ERR_INGEST_BAD_BATCH', problem)
        c.batch = batch
        c.events = batch.events
        c.value = undefined
      },
    },
    {
      name: 'site',
      run: async (c) => {
        const site = await siteByKey(deps.pool, deps.cache, c.batch!.siteKey)
        if (site === undefined) throw new GatewayError('HM_ERR_INGEST_UNKNOWN_SITE', c.batch!.siteKey)
        c.site = site
      },
    },
    {
      name: 'origin',
      run: (c) => {
        const origin = header(c.headers, 'origin')
        // No Origin: a server posting on purpose (browsers always send one on POST).
        if (origin !== undefined && !originAllowed(origin, c.site!.allowedOrigins)) {
          throw new GatewayError('HM_ERR_INGEST_ORIGIN_DENIED', origin)
        }
      },
    },
    {
      name: 'rate_site',
      run: (c) => limit(`site:${c.site!.id}`, settings.rateLimitPerSite, 'for one website'),
    },
    {
      name: 'opt_out',
      run: (c) => {
        // The SDK sends nothing in these cases; a request that still carries them is honoured here.
        if (header(c.headers, 'dnt') === '1' || header(c.headers, 'sec-gpc') === '1') {
          drop(c, 'do_not_track', c.events)
        }
      },
    },
    {
      name: 'bots',
      run: (c) => {
        const ua = header(c.headers, 'user-agent')
        if (isBotUserAgent(ua)) drop(c, 'bot_user_agent', c.events)
        else if (isBrowserUserAgent(ua) && impossiblePace(c.events)) drop(c, 'bot_behaviour', c.events)
      },
    },
    {
      name: 'consent',
      run: async (c) => {
        // The SDK holds events until the page grants consent and the gateway has recorded it; a batch of a
        // visitor without a grant (a page that does not ask, a revoked consent) is dropped here. Cached.
        if (!c.site!.consentRequired) return
        if (!(await consentGranted(deps.pool, deps.cache, c.site!.id, c.batch!.visitorId)))
          drop(c, 'no_consent', c.events)
      },
    },
    {
      name: 'attribute',
      run: (c) => {
        const ua = userAgents.parse(header(c.headers, 'user-agent'))
        c.attribution.device = ua.device
        if (ua.browser !== undefined) c.attribution.browser = ua.browser
        if (ua.os !== undefined) c.attribution.os = ua.os
        if (settings.countryHeader !== undefined) {
          const country = header(c.headers, settings.countryHeader)?.trim().toUpperCase()
          if (country !== undefined && /^[A-Z]{2}$/.test(country) && !NOT_COUNTRIES.has(country)) {
            c.attribution.country = country
          }
        }
      },
    },
    {
      name: 'scrub',
      // In place: the events are this request's own, freshly parsed; copying each of them in every step
      // was a measurable share of the ingest path's garbage.
      run: (c) => {
        for (const e of c.events) {
          e.url = scrubPii(e.url)
          if (e.type === 'pageview' && e.referrer !== undefined) {
            const ref = cleanReferrer(e.referrer)
            if (ref === undefined) delete e.referrer
            else e.referrer = ref
          } else if ('selector' in e && e.selector !== undefined) {
            e.selector = scrubPii(c.site!.masking === 'strict' ? tagsOnly(e.selector) : e.selector)
          }
        }
      },
    },
    {
      name: 'normalise',
      run: (c) => {
        drop(
          c,
          'stale',
          c.events.filter((e) => e.ts < c.now - MAX_AGE_MS),
        )
        const fragmentRoutes = c.site!.urlRules.fragmentRoutes !== false
        c.accepted = c.events as AcceptedEvent[]
        for (const e of c.accepted) {
          if (e.ts > c.now + MAX_CLOCK_AHEAD_MS) e.ts = c.now
          e.page = normalizePage(fragmentRoutes ? e.url : withoutFragment(e.url))
        }
      },
    },
    {
      name: 'publish',
      run: async (c) => {
        const batch = c.batch!
        const site = c.site!
        const ctx: BatchContext = {
          siteId: site.id,
          visitorId: batch.visitorId,
          sessionId: batch.sessionId,
          ...c.attribution,
        }
        const parts = routeBatch(ctx, c.accepted, deps.shardCount, { pageSplits: settings.pageSplits })
        let duplicates = 0
        try {
          const acks = await Promise.all(
            parts.map((p) =>
              deps.transport.publish(p.shard, p.data, `${site.id}:${batch.batchId}:${p.shard}`),
            ),
          )
          duplicates = acks.filter((a) => a.duplicate).length
        } catch (e) {
          if (e instanceof RuntimeError && e.code === 'RT_ERR_TRANSPORT_FULL') {
            throw new GatewayError('HM_ERR_INGEST_BUSY', undefined, 1)
          }
          if (e instanceof RuntimeError && e.code === 'RT_ERR_TRANSPORT_UNAVAILABLE') {
            throw new GatewayError('HM_ERR_INGEST_UNAVAILABLE', undefined, 2)
          }
          throw e
        }
        const duplicate = duplicates === parts.length
        if (duplicate) metrics.duplicates.inc()
        else metrics.accepted.inc(c.accepted.length)
        c.result = { accepted: c.accepted.length, dropped: c.dropped, duplicate }
      },
    },
  ]
  return new Pipeline(steps, metrics.step)
}
