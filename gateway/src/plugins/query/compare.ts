import type { HeatmapType } from '@hm/actors'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import {
  Country,
  HeatmapTypeSchema,
  PageQuery,
  qs,
  RangeQuery,
  ResolutionQuery,
  range,
  resolutionGuard,
  type SegmentParams,
  SegmentQuery,
  SiteParams,
  Str,
  segmentOf,
  Viewport,
} from './params.ts'
import type { QueryScope } from './scope.ts'

/** Side `a` or `b` of a comparison: its own range and segment, each falling back to the shared one. */
const side = (s: 'a' | 'b') => ({
  [`${s}From`]: Type.Optional(Str(40)),
  [`${s}To`]: Type.Optional(Str(40)),
  [`${s}Viewport`]: Type.Optional(Viewport),
  [`${s}Device`]: Type.Optional(Str(32)),
  [`${s}Country`]: Type.Optional(Country),
})

/** `GET /v1/sites/:siteId/compare`: two ranges or segments of one page, per page view, and their difference. */
const compare: FastifyPluginAsync<QueryScope> = async (app, scope) => {
  app.get(
    '/v1/sites/:siteId/compare',
    {
      config: { permission: 'heatmaps:read' },
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
      const siteId = await scope.callerSite(req)
      const shared = range({ from: p.from, to: p.to }, scope.now())
      const rangeOf = (s: 'a' | 'b') =>
        p[`${s}From`] === undefined && p[`${s}To`] === undefined
          ? shared
          : range({ from: p[`${s}From`], to: p[`${s}To`] }, scope.now(), { from: `${s}From`, to: `${s}To` })
      const a = { ...rangeOf('a'), ...segmentOf(p, 'a') }
      const b = { ...rangeOf('b'), ...segmentOf(p, 'b') }
      const page = await scope.knownPage(siteId, p.page)
      const c = await resolutionGuard(() =>
        scope.queries.compare({ siteId, page, type: p.type, cols: p.cols, bandPx: p.bandPx }, a, b),
      )
      return { siteId, page, type: p.type, ...c }
    },
  )
}

export default compare
