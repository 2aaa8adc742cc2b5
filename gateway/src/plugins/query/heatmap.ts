import { coveredHours, type HeatmapQueries, type HeatmapType, type Segment } from '@hm/actors'
import { Type } from '@sinclair/typebox'
import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify'
import {
  Cells,
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
import { pageOf, type QueryScope } from './scope.ts'

/** Live deltas are merged into ranges ending less than this long ago. */
const LIVE_HORIZON_MS = 2 * 3_600_000

type Heatmap = Awaited<ReturnType<HeatmapQueries['heatmap']>>

/**
 * Adds what the page's actor holds and has not flushed yet. ClickHouse is read first and the actor
 * second: a flush between the two can only hide counts for that instant, never count them twice.
 * True when the answer includes live deltas.
 */
export async function withPending(
  scope: QueryScope,
  log: FastifyBaseLogger,
  at: { siteId: string; page: string; type: HeatmapType; segment: Segment; from: number; to: number },
  h: Heatmap,
): Promise<boolean> {
  const { siteId, page, type, segment, from, to } = at
  // A range that ended hours ago has nothing unflushed worth asking a (maybe passivated) actor for.
  if (scope.pending === undefined || type === 'scroll' || to < scope.now() - LIVE_HORIZON_MS) return false
  const covered = coveredHours(from, to)
  let pending: Array<[number, number, number]>
  try {
    pending = await scope.pending(siteId, page, {
      kind: 'cells',
      type,
      ...segment,
      fromHour: covered.from / 1000,
      toHour: covered.to / 1000,
    })
  } catch (err) {
    log.warn({ err }, 'live cells unavailable; answering from ClickHouse only')
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

/** `GET /v1/sites/:siteId/heatmap`: one page's cells at a resolution, fresh to the second. */
const heatmap: FastifyPluginAsync<QueryScope> = async (app, scope) => {
  app.get(
    '/v1/sites/:siteId/heatmap',
    {
      config: { permission: 'heatmaps:read' },
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
      const siteId = await scope.callerSite(req)
      const { from, to } = range(p, scope.now())
      const page = pageOf(p.page)
      const segment = segmentOf(p)
      const h = await resolutionGuard(() =>
        scope.queries.heatmap({
          siteId,
          page,
          type: p.type,
          from,
          to,
          ...segment,
          cols: p.cols,
          bandPx: p.bandPx,
        }),
      )
      // A page with no data yet is an empty map, not an error: live views poll before the first flush.
      const live =
        p.live !== false &&
        (await withPending(scope, app.log, { siteId, page, type: p.type, segment, from, to }, h))
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
}

export default heatmap
