import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import {
  PageQuery,
  qs,
  RangeQuery,
  range,
  resolutionGuard,
  type SegmentParams,
  SegmentQuery,
  SiteParams,
  segmentOf,
} from './params.ts'
import type { QueryScope } from './scope.ts'

/**
 * `GET /v1/sites/:siteId/scroll` and `…/attention`: the scroll-depth curve and the visible time per
 * band answer the same question shape, one page's rows over a range.
 */
const scrollAttention: FastifyPluginAsync<QueryScope> = async (app, scope) => {
  const q = scope.queries
  const bandReads: Record<string, (a: Parameters<typeof q.scroll>[0]) => Promise<object>> = {
    scroll: (a) => q.scroll(a),
    attention: (a) => q.attention(a),
  }
  for (const [name, read] of Object.entries(bandReads)) {
    app.get(
      `/v1/sites/:siteId/${name}`,
      {
        config: { permission: 'heatmaps:read' },
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
        const siteId = await scope.callerSite(req)
        const { from, to } = range(p, scope.now())
        const page = await scope.knownPage(siteId, p.page)
        const rows = await resolutionGuard(() =>
          read({ siteId, page, from, to, ...segmentOf(p), bandPx: p.bandPx }),
        )
        return { siteId, page, from, to, ...rows }
      },
    )
  }
}

export default scrollAttention
