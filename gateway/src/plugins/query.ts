import {
  coveredHours,
  exportFormats,
  type HeatmapQueries,
  type HeatmapType,
  heatmapTypes,
  normalizePage,
  type PageAskCells,
  type Segment,
  sessionSorts,
  type ViewportClass,
  viewportClasses,
} from '@hm/actors'
import { type TSchema, Type } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import { orgOfApiKey } from '../accounts/api-keys.ts'
import { orgSite } from '../accounts/websites.ts'
import { GatewayError } from '../errors.ts'
import { sendExport } from '../export/respond.ts'
import type { Cache } from '../stores/cache.ts'

/** The not-yet-flushed cells of a page, from its actor (`RuntimeHost.ask`): `[x, y, count]` at full resolution. */
export type PendingCells = (
  siteId: string,
  page: string,
  request: PageAskCells,
) => Promise<Array<[number, number, number]>>

export interface QueryOptions {
  queries: HeatmapQueries
  pool: pg.Pool
  cache: Cache
  /** Merges live deltas into heatmap answers; without it answers are what ClickHouse holds. */
  pending?: PendingCells
  now?: () => number
}

const DAY = 86_400_000
const MAX_RANGE = 400 * DAY
/** Live deltas are merged into ranges ending less than this long ago. */
const LIVE_HORIZON_MS = 2 * 3_600_000

/**
 * Accepts ms since the epoch, a date (`2026-11-20`, midnight UTC) or an ISO 8601 date-time with its
 * offset (`…T10:00:00+05:30` or `Z`). A date-time without one is refused rather than read in the
 * server's time zone: UTC is what is stored, the caller says which instant they mean.
 */
function parseInstant(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(raw))
    throw new GatewayError(
      'HM_ERR_QUERY_BAD_PARAM',
      `${name}: ${JSON.stringify(raw)} needs a UTC offset (Z or ±hh:mm)`,
    )
  const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)
  if (!Number.isFinite(n)) {
    throw new GatewayError(
      'HM_ERR_QUERY_BAD_PARAM',
      `${name}: ${JSON.stringify(raw)} is not a date-time or ms`,
    )
  }
  return n
}

function range(
  q: { from?: string | undefined; to?: string | undefined },
  now: number,
  names = { from: 'from', to: 'to' },
): { from: number; to: number } {
  const to = parseInstant(names.to, q.to, now)
  const from = parseInstant(names.from, q.from, to - 7 * DAY)
  if (from >= to)
    throw new GatewayError('HM_ERR_QUERY_BAD_RANGE', `${names.from}: must be before ${names.to}`)
  if (to - from > MAX_RANGE)
    throw new GatewayError('HM_ERR_QUERY_BAD_RANGE', `${names.from}: range longer than 400 days`)
  return { from, to }
}

/** A resolution or size problem becomes HM_ERR_QUERY_BAD_RESOLUTION naming the field. */
async function resolutionGuard<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    if (e instanceof RangeError) throw new GatewayError('HM_ERR_QUERY_BAD_RESOLUTION', e.message)
    throw e
  }
}

const Str = (max: number) => Type.String({ minLength: 1, maxLength: max })
const Viewport = Type.Union(viewportClasses.map((v) => Type.Literal(v)))
const Country = Type.String({ pattern: '^[A-Za-z]{2}$' })
const SiteParams = Type.Object({ siteId: Str(64) })
const RangeQuery = { from: Type.Optional(Str(40)), to: Type.Optional(Str(40)) }
const SegmentQuery = {
  viewport: Type.Optional(Viewport),
  device: Type.Optional(Str(32)),
  country: Type.Optional(Country),
}
const ResolutionQuery = { cols: Type.Optional(Type.Integer()), bandPx: Type.Optional(Type.Integer()) }
const PageQuery = { page: Str(2048) }
const HeatmapTypeSchema = Type.Union(heatmapTypes.map((t) => Type.Literal(t)))
const Cells = Type.Array(Type.Tuple([Type.Number(), Type.Number(), Type.Number()]))
const qs = (props: Record<string, TSchema>) => Type.Object(props, { additionalProperties: false })

interface SegmentParams {
  viewport?: ViewportClass
  device?: string
  country?: string
}
const segmentOf = (q: SegmentParams, prefix?: 'a' | 'b'): Segment => {
  const get = (k: 'viewport' | 'device' | 'country'): string | undefined => {
    const own = prefix
      ? (q as Record<string, string | undefined>)[`${prefix}${k[0]!.toUpperCase()}${k.slice(1)}`]
      : undefined
    return own ?? q[k]
  }
  return {
    viewport: get('viewport') as ViewportClass | undefined,
    device: get('device'),
    country: get('country')?.toUpperCase(),
  }
}

/** The query API, scoped to the organisation of the caller's API key. */
const query: FastifyPluginAsync<QueryOptions> = async (app, opts) => {
  const now = opts.now ?? Date.now
  const orgs = new WeakMap<FastifyRequest, string>()
  const q = opts.queries

  app.addHook('onRequest', async (req) => {
    const auth = req.headers.authorization
    if (auth === undefined || !auth.startsWith('Bearer ')) throw new GatewayError('HM_ERR_AUTH_MISSING')
    const orgId = await orgOfApiKey(opts.pool, opts.cache, auth.slice(7).trim())
    if (orgId === undefined) throw new GatewayError('HM_ERR_AUTH_BAD_KEY')
    orgs.set(req, orgId)
  })

  /** The site if it is the caller's; the same 404 for another organisation's site and a missing one. */
  async function callerSite(req: FastifyRequest): Promise<string> {
    const { siteId } = req.params as { siteId: string }
    const site = await orgSite(opts.pool, orgs.get(req)!, siteId)
    if (site === undefined) throw new GatewayError('HM_ERR_QUERY_NOT_FOUND', siteId)
    return site.id
  }

  /** The page as stored (normalised like ingestion: a path or a whole URL both work). */
  const pageOf = (raw: string): string => normalizePage(raw)

  /** For analyses of one page: a page the site never recorded is a 404, not an empty answer. */
  async function knownPage(siteId: string, raw: string): Promise<string> {
    const page = pageOf(raw)
    if (!(await q.pageExists(siteId, page))) throw new GatewayError('HM_ERR_QUERY_UNKNOWN_PAGE', page)
    return page
  }

  /**
   * Adds what the page's actor holds and has not flushed yet. ClickHouse is read first and the actor
   * second: a flush between the two can only hide counts for that instant, never count them twice.
   */
  async function withPending(
    siteId: string,
    page: string,
    type: HeatmapType,
    segment: Segment,
    from: number,
    to: number,
    h: Awaited<ReturnType<HeatmapQueries['heatmap']>>,
  ): Promise<boolean> {
    // A range that ended hours ago has nothing unflushed worth asking a (maybe passivated) actor for.
    if (opts.pending === undefined || type === 'scroll' || to < now() - LIVE_HORIZON_MS) return false
    const covered = coveredHours(from, to)
    let pending: Array<[number, number, number]>
    try {
      pending = await opts.pending(siteId, page, {
        kind: 'cells',
        type,
        ...segment,
        fromHour: covered.from / 1000,
        toHour: covered.to / 1000,
      })
    } catch (err) {
      app.log.warn({ err }, 'live cells unavailable; answering from ClickHouse only')
      return false
    }
    if (pending.length === 0) return true
    const xDiv = 128 / h.xCells
    const yDiv = h.yBandPx / 16
    const byCell = new Map<number, [number, number, number]>()
    for (const c of h.cells) byCell.set(c[1] * 4096 + c[0], c)
    for (const [x, y, n] of pending) {
      const gx = Math.floor(x / xDiv)
      const gy = Math.floor(y / yDiv)
      const c = byCell.get(gy * 4096 + gx)
      if (c === undefined) byCell.set(gy * 4096 + gx, [gx, gy, n])
      else c[2] += n
      h.total += n
    }
    h.cells = [...byCell.values()].sort((a, b) => a[1] - b[1] || a[0] - b[0])
    return true
  }

  app.get(
    '/v1/sites/:siteId/heatmap',
    {
      schema: {
        params: SiteParams,
        querystring: qs({
          ...PageQuery,
          type: HeatmapTypeSchema,
          ...SegmentQuery,
          ...RangeQuery,
          ...ResolutionQuery,
          live: Type.Optional(Type.Boolean()),
        }),
        response: {
          200: Type.Object({
            siteId: Type.String(),
            page: Type.String(),
            type: Type.String(),
            viewport: Type.String(),
            device: Type.String(),
            country: Type.String(),
            from: Type.Number(),
            to: Type.Number(),
            coveredFrom: Type.Number(),
            coveredTo: Type.Number(),
            xCells: Type.Integer(),
            yBandPx: Type.Integer(),
            total: Type.Number(),
            live: Type.Boolean(),
            cells: Cells,
          }),
        },
      },
    },
    async (req) => {
      const p = req.query as SegmentParams & {
        page: string
        type: HeatmapType
        from?: string
        to?: string
        cols?: number
        bandPx?: number
        live?: boolean
      }
      const siteId = await callerSite(req)
      const { from, to } = range(p, now())
      const page = pageOf(p.page)
      const segment = segmentOf(p)
      const h = await resolutionGuard(() =>
        q.heatmap({ siteId, page, type: p.type, from, to, ...segment, cols: p.cols, bandPx: p.bandPx }),
      )
      // A page with no data yet is an empty map, not an error: live views poll before the first flush.
      const live = p.live !== false && (await withPending(siteId, page, p.type, segment, from, to, h))
      return {
        siteId,
        page,
        type: p.type,
        viewport: segment.viewport ?? 'all',
        device: segment.device ?? 'all',
        country: segment.country ?? 'all',
        from,
        to,
        coveredFrom: h.covered.from,
        coveredTo: h.covered.to,
        xCells: h.xCells,
        yBandPx: h.yBandPx,
        total: h.total,
        live,
        cells: h.cells,
      }
    },
  )

  app.get(
    '/v1/sites/:siteId/pages',
    {
      schema: {
        params: SiteParams,
        querystring: qs({
          ...RangeQuery,
          ...SegmentQuery,
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
      },
    },
    async (req) => {
      const p = req.query as SegmentParams & { from?: string; to?: string; limit?: number }
      const siteId = await callerSite(req)
      const { from, to } = range(p, now())
      return { siteId, from, to, pages: await q.pages(siteId, from, to, p.limit ?? 100, segmentOf(p)) }
    },
  )

  // Scroll depth and attention answer the same question shape: one page's rows over a range.
  const bandReads: Record<string, (a: Parameters<typeof q.scroll>[0]) => Promise<object>> = {
    scroll: (a) => q.scroll(a),
    attention: (a) => q.attention(a),
  }
  for (const [name, read] of Object.entries(bandReads)) {
    app.get(
      `/v1/sites/:siteId/${name}`,
      {
        schema: {
          params: SiteParams,
          querystring: qs({
            ...PageQuery,
            ...SegmentQuery,
            ...RangeQuery,
            bandPx: Type.Optional(Type.Integer()),
          }),
        },
      },
      async (req) => {
        const p = req.query as SegmentParams & { page: string; from?: string; to?: string; bandPx?: number }
        const siteId = await callerSite(req)
        const { from, to } = range(p, now())
        const page = await knownPage(siteId, p.page)
        const rows = await resolutionGuard(() =>
          read({ siteId, page, from, to, ...segmentOf(p), bandPx: p.bandPx }),
        )
        return { siteId, page, from, to, ...rows }
      },
    )
  }

  app.get(
    '/v1/sites/:siteId/elements',
    {
      schema: {
        params: SiteParams,
        querystring: qs({
          ...PageQuery,
          ...SegmentQuery,
          ...RangeQuery,
          sort: Type.Optional(
            Type.Union([Type.Literal('clicks'), Type.Literal('rage'), Type.Literal('dead')]),
          ),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          selector: Type.Optional(Str(512)),
        }),
      },
    },
    async (req) => {
      const p = req.query as SegmentParams & {
        page: string
        from?: string
        to?: string
        sort?: 'clicks' | 'rage' | 'dead'
        limit?: number
        selector?: string
      }
      const siteId = await callerSite(req)
      const { from, to } = range(p, now())
      const page = await knownPage(siteId, p.page)
      const scope = { siteId, page, from, to, ...segmentOf(p) }
      if (p.selector !== undefined) {
        return {
          siteId,
          page,
          from,
          to,
          selector: p.selector,
          offsetCells: 16,
          offsets: await q.elementOffsets({ ...scope, selector: p.selector }),
        }
      }
      return {
        siteId,
        page,
        from,
        to,
        ...(await q.elements({ ...scope, sort: p.sort ?? 'clicks', limit: p.limit ?? 20 })),
      }
    },
  )

  const side = (s: 'a' | 'b') => ({
    [`${s}From`]: Type.Optional(Str(40)),
    [`${s}To`]: Type.Optional(Str(40)),
    [`${s}Viewport`]: Type.Optional(Viewport),
    [`${s}Device`]: Type.Optional(Str(32)),
    [`${s}Country`]: Type.Optional(Country),
  })
  app.get(
    '/v1/sites/:siteId/compare',
    {
      schema: {
        params: SiteParams,
        querystring: qs({
          ...PageQuery,
          type: HeatmapTypeSchema,
          ...RangeQuery,
          ...SegmentQuery,
          ...ResolutionQuery,
          ...side('a'),
          ...side('b'),
        }),
      },
    },
    async (req) => {
      const p = req.query as Record<string, string | undefined> &
        SegmentParams & { page: string; type: HeatmapType; cols?: number; bandPx?: number }
      const siteId = await callerSite(req)
      const shared = range({ from: p.from, to: p.to }, now())
      const rangeOf = (s: 'a' | 'b') =>
        p[`${s}From`] === undefined && p[`${s}To`] === undefined
          ? shared
          : range({ from: p[`${s}From`], to: p[`${s}To`] }, now(), { from: `${s}From`, to: `${s}To` })
      const a = { ...rangeOf('a'), ...segmentOf(p, 'a') }
      const b = { ...rangeOf('b'), ...segmentOf(p, 'b') }
      const page = await knownPage(siteId, p.page)
      const c = await resolutionGuard(() =>
        q.compare({ siteId, page, type: p.type, cols: p.cols, bandPx: p.bandPx }, a, b),
      )
      return { siteId, page, type: p.type, ...c }
    },
  )

  app.get(
    '/v1/sites/:siteId/export',
    {
      schema: {
        params: SiteParams,
        querystring: qs({
          ...PageQuery,
          type: HeatmapTypeSchema,
          format: Type.Union(exportFormats.map((f) => Type.Literal(f))),
          ...SegmentQuery,
          ...RangeQuery,
          ...ResolutionQuery,
          width: Type.Optional(Type.Integer()),
          height: Type.Optional(Type.Integer()),
          docWidth: Type.Optional(Type.Integer({ minimum: 100, maximum: 100_000 })),
        }),
      },
    },
    async (req, reply) => {
      const p = req.query as SegmentParams & {
        page: string
        type: HeatmapType
        format: (typeof exportFormats)[number]
        from?: string
        to?: string
        cols?: number
        bandPx?: number
        width?: number
        height?: number
        docWidth?: number
      }
      const siteId = await callerSite(req)
      const { from, to } = range(p, now())
      const page = await knownPage(siteId, p.page)
      const segment = segmentOf(p)
      const h = await resolutionGuard(() =>
        q.heatmap({
          siteId,
          page,
          type: p.type,
          from,
          to,
          ...segment,
          cols: p.cols ?? 64,
          bandPx: p.bandPx ?? 32,
        }),
      )
      await withPending(siteId, page, p.type, segment, from, to, h)
      return resolutionGuard(() =>
        sendExport(reply, {
          format: p.format,
          siteId,
          page,
          type: p.type,
          segment,
          from,
          to,
          heatmap: h,
          width: p.width ?? 1200,
          height: p.height,
          docWidth: p.docWidth ?? 1280,
        }),
      )
    },
  )

  app.get(
    '/v1/sites/:siteId/sessions',
    {
      schema: {
        params: SiteParams,
        querystring: qs({
          ...RangeQuery,
          ...SegmentQuery,
          browser: Type.Optional(Str(64)),
          os: Type.Optional(Str(64)),
          page: Type.Optional(Str(2048)),
          entryPage: Type.Optional(Str(2048)),
          minDurationS: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 * 7 })),
          rage: Type.Optional(Type.Boolean()),
          dead: Type.Optional(Type.Boolean()),
          ended: Type.Optional(Type.Boolean()),
          sort: Type.Optional(Type.Union(sessionSorts.map((s) => Type.Literal(s)))),
          order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
        }),
      },
    },
    async (req) => {
      const p = req.query as SegmentParams & {
        from?: string
        to?: string
        browser?: string
        os?: string
        page?: string
        entryPage?: string
        minDurationS?: number
        rage?: boolean
        dead?: boolean
        ended?: boolean
        sort?: (typeof sessionSorts)[number]
        order?: 'asc' | 'desc'
        limit?: number
        offset?: number
      }
      const siteId = await callerSite(req)
      const { from, to } = range(p, now())
      const list = await q.sessions.list({
        siteId,
        from,
        to,
        ...segmentOf(p),
        browser: p.browser,
        os: p.os,
        page: p.page === undefined ? undefined : pageOf(p.page),
        entryPage: p.entryPage === undefined ? undefined : pageOf(p.entryPage),
        minDurationMs: p.minDurationS === undefined ? undefined : p.minDurationS * 1000,
        rage: p.rage,
        dead: p.dead,
        ended: p.ended,
        sort: p.sort,
        order: p.order,
        limit: p.limit ?? 50,
        offset: p.offset ?? 0,
      })
      return { siteId, from, to, ...list }
    },
  )

  app.get(
    '/v1/sites/:siteId/sessions/:sessionId',
    {
      schema: {
        params: Type.Object({
          siteId: Str(64),
          sessionId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
        }),
        querystring: qs({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 20_000 })) }),
      },
    },
    async (req) => {
      const { sessionId } = req.params as { sessionId: string }
      const { limit } = req.query as { limit?: number }
      const siteId = await callerSite(req)
      const [session, timeline] = await Promise.all([
        q.sessions.get(siteId, sessionId),
        q.sessions.timeline(siteId, sessionId, limit ?? 5000),
      ])
      if (session === undefined && timeline.length === 0)
        throw new GatewayError('HM_ERR_QUERY_UNKNOWN_SESSION', sessionId)
      return { siteId, session: session ?? null, timeline }
    },
  )
}

export default fp(query, { name: 'query', encapsulate: true, fastify: '5.x' })
