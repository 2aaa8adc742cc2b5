import type { Comparison, HeatmapType } from '@hm/actors'
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

/**
 * The comparison with each side's cells as a share of that side's total instead of per page view: where
 * the clicks went, whatever their number. Per page view (the default) shows how much more or less
 * happened; per total shows a shift of the same attention from one place to another.
 */
export function perTotal(c: Comparison): Comparison {
  const rescale = (part: Comparison['a']): Comparison['a'] => ({
    ...part,
    cells: part.cells.map(([x, y, perView]) => [
      x,
      y,
      part.total > 0 ? (perView * part.views) / part.total : 0,
    ]),
  })
  const a = rescale(c.a)
  const b = rescale(c.b)
  const diff = new Map<number, [number, number, number]>()
  const key = (x: number, y: number): number => y * 4096 + x
  for (const [x, y, n] of a.cells) diff.set(key(x, y), [x, y, -n])
  for (const [x, y, n] of b.cells) {
    const d = diff.get(key(x, y))
    if (d === undefined) diff.set(key(x, y), [x, y, n])
    else d[2] += n
  }
  return { ...c, a, b, diff: [...diff.values()].sort((p, q) => p[1] - q[1] || p[0] - q[0]) }
}

/**
 * `GET /v1/sites/:siteId/compare`: two ranges or segments of one page and their difference b − a, each
 * side normalised so that ranges of different length (or segments of different size) compare fairly:
 * per page view (`per=view`, the default) or as a share of the side's total (`per=total`).
 */
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
          per: Type.Optional(Type.Union([Type.Literal('view'), Type.Literal('total')])),
        }),
      },
    },
    async (req) => {
      const p = req.query as Record<string, string | undefined> &
        SegmentParams & {
          page: string
          type: HeatmapType
          cols?: number
          bandPx?: number
          per?: 'view' | 'total'
        }
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
      const per = p.per ?? 'view'
      return { siteId, page, type: p.type, per, ...(per === 'total' ? perTotal(c) : c) }
    },
  )
}

export default compare
