import { sessionSorts } from '@hm/actors'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { GatewayError } from '../../errors.ts'
import {
  qs,
  RangeQuery,
  range,
  type SegmentParams,
  SegmentQuery,
  SiteParams,
  Str,
  segmentOf,
} from './params.ts'
import { pageOf, type QueryScope } from './scope.ts'

/** `GET /v1/sites/:siteId/sessions` (filtered, sorted list) and `…/sessions/:sessionId` (one timeline). */
const sessions: FastifyPluginAsync<QueryScope> = async (app, scope) => {
  const q = scope.queries

  app.get(
    '/v1/sites/:siteId/sessions',
    {
      config: { permission: 'sessions:read' },
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
      const siteId = await scope.callerSite(req)
      const { from, to } = range(p, scope.now())
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
      config: { permission: 'sessions:read' },
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
      const siteId = await scope.callerSite(req)
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

export default sessions
