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

/** The shares of page views a scroll map marks: where all, three quarters, half and a quarter still are. */
export const MARK_PERCENTS = [100, 75, 50, 25] as const

/**
 * For each of `MARK_PERCENTS`, the deepest document px at least that share of the page views reached:
 * the bottom of the last row they all saw. Compared in whole page views (`reached × 100 ≥ p × views`),
 * so 3 of 4 views is 75 % exactly. A share nobody reached (no views) has no mark.
 */
export function depthMarks(curve: {
  views: number
  bandPx: number
  bands: ReadonlyArray<{ y: number; reached: number }>
}): Array<{ percent: number; y: number }> {
  const marks: Array<{ percent: number; y: number }> = []
  if (curve.views <= 0) return marks
  for (const percent of MARK_PERCENTS) {
    let y = -1
    // The curve never rises with depth: the last row at or above the share ends the run.
    for (const b of curve.bands) if (b.reached * 100 >= percent * curve.views) y = b.y + curve.bandPx
    if (y > 0) marks.push({ percent, y })
  }
  return marks
}

/**
 * `GET /v1/sites/:siteId/scroll` and `…/attention`: the scroll-depth curve and the visible time per
 * band answer the same question shape, one page's rows over a range. Scroll depth also names the depths
 * that 100/75/50/25 % of page views reached (`marks`), so every client draws the same lines.
 */
const scrollAttention: FastifyPluginAsync<QueryScope> = async (app, scope) => {
  const q = scope.queries
  const bandReads: Record<string, (a: Parameters<typeof q.scroll>[0]) => Promise<object>> = {
    scroll: async (a) => {
      const curve = await q.scroll(a)
      return { ...curve, marks: depthMarks(curve) }
    },
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
