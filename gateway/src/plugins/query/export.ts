import { exportFormats, type HeatmapType } from '@hm/actors'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { sendExport } from '../../export/respond.ts'
import { withPending } from './heatmap.ts'
import {
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
  segmentOf,
} from './params.ts'
import type { QueryScope } from './scope.ts'

/** `GET /v1/sites/:siteId/export`: one page's heatmap as PNG, SVG, CSV or JSON, live deltas included. */
const exportRoute: FastifyPluginAsync<QueryScope> = async (app, scope) => {
  app.get(
    '/v1/sites/:siteId/export',
    {
      config: { permission: 'heatmaps:export' },
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
      const siteId = await scope.callerSite(req)
      const { from, to } = range(p, scope.now())
      const page = await scope.knownPage(siteId, p.page)
      const segment = segmentOf(p)
      const h = await resolutionGuard(() =>
        scope.queries.heatmap({
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
      await withPending(scope, app.log, { siteId, page, type: p.type, segment, from, to }, h)
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
}

export default exportRoute
