import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import {
  PageQuery,
  qs,
  RangeQuery,
  range,
  type SegmentParams,
  SegmentQuery,
  SiteParams,
  Str,
  segmentOf,
} from './params.ts'
import type { QueryScope } from './scope.ts'

/**
 * `GET /v1/sites/:siteId/pages` (pages by traffic) and `…/elements` (top elements of a page by
 * clicks with rage and dead counts, or where inside one element the clicks land).
 */
const elementsPages: FastifyPluginAsync<QueryScope> = async (app, scope) => {
  const q = scope.queries

  app.get(
    '/v1/sites/:siteId/pages',
    {
      config: { permission: 'heatmaps:read' },
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
      const siteId = await scope.callerSite(req)
      const { from, to } = range(p, scope.now())
      return { siteId, from, to, pages: await q.pages(siteId, from, to, p.limit ?? 100, segmentOf(p)) }
    },
  )

  app.get(
    '/v1/sites/:siteId/elements',
    {
      config: { permission: 'heatmaps:read' },
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
      const siteId = await scope.callerSite(req)
      const { from, to } = range(p, scope.now())
      const page = await scope.knownPage(siteId, p.page)
      const at = { siteId, page, from, to, ...segmentOf(p) }
      if (p.selector !== undefined) {
        return {
          siteId,
          page,
          from,
          to,
          selector: p.selector,
          offsetCells: 16,
          offsets: await q.elementOffsets({ ...at, selector: p.selector }),
        }
      }
      return {
        siteId,
        page,
        from,
        to,
        ...(await q.elements({ ...at, sort: p.sort ?? 'clicks', limit: p.limit ?? 20 })),
      }
    },
  )
}

export default elementsPages
