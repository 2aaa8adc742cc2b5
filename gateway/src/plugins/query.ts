import { type HeatmapQueries, heatmapTypes, viewportClasses } from '@hm/actors'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import { orgOfApiKey } from '../accounts/api-keys.ts'
import { orgSite } from '../accounts/websites.ts'
import { GatewayError } from '../errors.ts'
import type { Cache } from '../stores/cache.ts'

export interface QueryOptions {
  queries: HeatmapQueries
  pool: pg.Pool
  cache: Cache
  now?: () => number
}

const DAY = 86_400_000
const MAX_RANGE = 400 * DAY

/** Accepts ms since the epoch or an ISO 8601 date-time with its offset (UTC is what is stored). */
function parseInstant(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback
  const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)
  if (!Number.isFinite(n)) {
    throw new GatewayError(
      'HM_ERR_QUERY_BAD_PARAM',
      `${name}: ${JSON.stringify(raw)} is not a date-time or ms`,
    )
  }
  return n
}

function range(q: { from?: string; to?: string }, now: number): { from: number; to: number } {
  const to = parseInstant('to', q.to, now)
  const from = parseInstant('from', q.from, to - 7 * DAY)
  if (from >= to) throw new GatewayError('HM_ERR_QUERY_BAD_PARAM', 'from: must be before to')
  if (to - from > MAX_RANGE)
    throw new GatewayError('HM_ERR_QUERY_BAD_PARAM', 'from: range longer than 400 days')
  return { from, to }
}

const SiteParams = Type.Object({ siteId: Type.String({ minLength: 1, maxLength: 64 }) })
const RangeQuery = {
  from: Type.Optional(Type.String({ maxLength: 40 })),
  to: Type.Optional(Type.String({ maxLength: 40 })),
}

/** The query API, scoped to the organisation of the caller's API key. */
const query: FastifyPluginAsync<QueryOptions> = async (app, opts) => {
  const now = opts.now ?? Date.now
  const orgs = new WeakMap<FastifyRequest, string>()

  app.addHook('onRequest', async (req) => {
    const auth = req.headers.authorization
    if (auth === undefined || !auth.startsWith('Bearer ')) throw new GatewayError('HM_ERR_AUTH_MISSING')
    const orgId = await orgOfApiKey(opts.pool, opts.cache, auth.slice(7).trim())
    if (orgId === undefined) throw new GatewayError('HM_ERR_AUTH_BAD_KEY')
    orgs.set(req, orgId)
  })

  /** The site if it is the caller's; the same 404 for another organisation's site and a missing one. */
  async function callerSite(req: FastifyRequest, siteId: string): Promise<string> {
    const site = await orgSite(opts.pool, orgs.get(req)!, siteId)
    if (site === undefined) throw new GatewayError('HM_ERR_QUERY_NOT_FOUND', siteId)
    return site.id
  }

  app.get(
    '/v1/sites/:siteId/heatmap',
    {
      schema: {
        params: SiteParams,
        querystring: Type.Object(
          {
            page: Type.String({ minLength: 1, maxLength: 1024 }),
            type: Type.Union(heatmapTypes.map((t) => Type.Literal(t))),
            viewport: Type.Optional(Type.Union(viewportClasses.map((v) => Type.Literal(v)))),
            ...RangeQuery,
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const { siteId } = req.params as { siteId: string }
      const q = req.query as {
        page: string
        type: (typeof heatmapTypes)[number]
        viewport?: (typeof viewportClasses)[number]
        from?: string
        to?: string
      }
      const id = await callerSite(req, siteId)
      const { from, to } = range(q, now())
      const result = await opts.queries.heatmap({
        siteId: id,
        page: q.page,
        type: q.type,
        from,
        to,
        viewport: q.viewport,
      })
      return { siteId: id, page: q.page, type: q.type, viewport: q.viewport ?? 'all', from, to, ...result }
    },
  )

  app.get(
    '/v1/sites/:siteId/pages',
    {
      schema: {
        params: SiteParams,
        querystring: Type.Object(
          { ...RangeQuery, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const { siteId } = req.params as { siteId: string }
      const q = req.query as { from?: string; to?: string; limit?: number }
      const id = await callerSite(req, siteId)
      const { from, to } = range(q, now())
      return { siteId: id, from, to, pages: await opts.queries.pages(id, from, to, q.limit ?? 100) }
    },
  )
}

export default fp(query, { name: 'query', encapsulate: true, fastify: '5.x' })
