import type { ClickHouseClient } from '@clickhouse/client'
import { type HeatmapType, type ViewportClass, X_CELLS, Y_BAND_PX } from '../grid.ts'

export interface HeatmapQuery {
  siteId: string
  page: string
  type: HeatmapType
  /** Inclusive start and exclusive end, ms since the epoch. */
  from: number
  to: number
  viewport?: ViewportClass | undefined
}

export interface HeatmapCells {
  xCells: number
  yBandPx: number
  total: number
  /** `[cellX, cellY, count]`, sorted by y then x. */
  cells: Array<[number, number, number]>
}

export class HeatmapQueries {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
  ) {}

  async heatmap(q: HeatmapQuery): Promise<HeatmapCells> {
    const rs = await this.client.query({
      query: `SELECT cell_x, cell_y, sum(count) AS n
        FROM ${this.db}.heatmap_cells
        WHERE site_id = {site:String} AND page = {page:String} AND type = {type:String}
          AND hour >= toStartOfHour(fromUnixTimestamp64Milli({from:Int64}, 'UTC'))
          AND hour < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
          ${q.viewport !== undefined ? 'AND viewport = {viewport:String}' : ''}
        GROUP BY cell_x, cell_y
        ORDER BY cell_y, cell_x`,
      query_params: {
        site: q.siteId,
        page: q.page,
        type: q.type,
        from: q.from,
        to: q.to,
        viewport: q.viewport,
      },
      format: 'JSONCompactEachRow',
    })
    const rows = await rs.json<[number, number, string | number]>()
    let total = 0
    const cells = rows.map(([x, y, n]): [number, number, number] => {
      const c = Number(n)
      total += c
      return [Number(x), Number(y), c]
    })
    return { xCells: X_CELLS, yBandPx: Y_BAND_PX, total, cells }
  }

  /** Pages of a site by page views in a range, most visited first. */
  async pages(
    siteId: string,
    from: number,
    to: number,
    limit = 100,
  ): Promise<Array<{ page: string; views: number }>> {
    const rs = await this.client.query({
      query: `SELECT page, sum(count) AS views FROM ${this.db}.heatmap_cells
        WHERE site_id = {site:String} AND type = 'pageview'
          AND hour >= toStartOfHour(fromUnixTimestamp64Milli({from:Int64}, 'UTC'))
          AND hour < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
        GROUP BY page ORDER BY views DESC, page LIMIT {limit:UInt32}`,
      query_params: { site: siteId, from, to, limit },
      format: 'JSONEachRow',
    })
    return (await rs.json<{ page: string; views: string | number }>()).map((r) => ({
      page: r.page,
      views: Number(r.views),
    }))
  }
}
