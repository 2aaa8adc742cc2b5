import type { ClickHouseClient } from '@clickhouse/client'
import { type HeatmapType, X_CELLS, Y_BAND_PX } from '../grid.ts'
import { coveredHours, hourlyWhere, type Scope, type Segment, segmentWhere } from './filters.ts'
import { type ScrollCurve, scrollCurve } from './scroll-curve.ts'
import { SessionQueries } from './session-queries.ts'

export interface Resolution {
  /** Columns across the document width: a power of two dividing 128 (1…128). Default 128. */
  cols?: number | undefined
  /** Height of a row in px: a multiple of 16, 16…4096. Default 16. */
  bandPx?: number | undefined
}

export interface HeatmapQuery extends Scope, Resolution {
  page: string
  type: HeatmapType
}

export interface HeatmapCells {
  /** The resolution of `cells`: columns across the width and px per row. */
  xCells: number
  yBandPx: number
  /** Sum of the cells (for `scroll`: the page views, as the cells there are page views reaching a row). */
  total: number
  /** `[cellX, cellY, count]`, sorted by y then x. */
  cells: Array<[number, number, number]>
  /** The whole UTC hours the answer covers. */
  covered: { from: number; to: number }
}

export interface AttentionBands {
  bandPx: number
  views: number
  /** Per row: visible ms in all, per page view, and as a share of the most looked-at row. */
  bands: Array<{ y: number; ms: number; msPerView: number; share: number }>
}

export interface ElementStat {
  selector: string
  clicks: number
  /** Rage bursts and the clicks they held; dead clicks. */
  rage: number
  rageClicks: number
  dead: number
  /** Share of the page's element clicks. */
  share: number
}

export interface ComparePart {
  from: number
  to: number
  segment: Segment
  views: number
  total: number
  /** `[x, y, count per page view]` */
  cells: Array<[number, number, number]>
}

export interface Comparison {
  xCells: number
  yBandPx: number
  a: ComparePart
  b: ComparePart
  /** `[x, y, b − a]` per page view, over the cells of either side. */
  diff: Array<[number, number, number]>
}

export const RESOLUTION_LIMITS = { minBandPx: Y_BAND_PX, maxBandPx: 4096, maxCols: X_CELLS } as const

/** Validates a resolution; a RangeError names the bad field. */
export function resolutionOf(r: Resolution): { cols: number; bandPx: number; xDiv: number; yDiv: number } {
  const cols = r.cols ?? X_CELLS
  const bandPx = r.bandPx ?? Y_BAND_PX
  if (!Number.isInteger(cols) || cols < 1 || cols > X_CELLS || X_CELLS % cols !== 0)
    throw new RangeError(`cols: ${cols} is not a power of two from 1 to ${X_CELLS}`)
  if (
    !Number.isInteger(bandPx) ||
    bandPx < RESOLUTION_LIMITS.minBandPx ||
    bandPx > RESOLUTION_LIMITS.maxBandPx ||
    bandPx % Y_BAND_PX !== 0
  )
    throw new RangeError(
      `bandPx: ${bandPx} is not a multiple of ${Y_BAND_PX} from ${RESOLUTION_LIMITS.minBandPx} to ${RESOLUTION_LIMITS.maxBandPx}`,
    )
  return { cols, bandPx, xDiv: X_CELLS / cols, yDiv: bandPx / Y_BAND_PX }
}

const num = (v: string | number): number => Number(v)
const DAY_MS = 86_400_000

/** Read side of the heatmap tables; every method is scoped to one site. */
export class HeatmapQueries {
  readonly sessions: SessionQueries

  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
  ) {
    this.sessions = new SessionQueries(client, db)
  }

  /**
   * The `heatmap_cells` rows of a scope as a subquery selecting `columns`: whole UTC days from the daily
   * rollup, the ragged hours at either end from the hourly table — a 30-day range reads 30 rows per
   * cell, not 720.
   */
  private cells(
    q: Scope,
    where: string,
    columns: string,
  ): { sql: string; params: Record<string, string | number> } {
    const c = coveredHours(q.from, q.to)
    const dayFrom = Math.ceil(c.from / DAY_MS) * DAY_MS
    const dayTo = Math.floor(c.to / DAY_MS) * DAY_MS
    const conds = ['site_id = {site:String}', where]
    const params: Record<string, string | number> = { site: q.siteId }
    segmentWhere(q, conds, params)
    const base = conds.join(' AND ')
    const hourly = (from: number, to: number): string => {
      params[`h${from}`] = from / 1000
      params[`h${to}`] = to / 1000
      return `hour >= toDateTime({h${from}:Int64}, 'UTC') AND hour < toDateTime({h${to}:Int64}, 'UTC')`
    }
    if (dayTo - dayFrom < DAY_MS) {
      return {
        sql: `SELECT ${columns} FROM ${this.db}.heatmap_cells WHERE ${base} AND ${hourly(c.from, c.to)}`,
        params,
      }
    }
    params.dayFrom = dayFrom / 1000
    params.dayTo = dayTo / 1000
    const ends = [
      ...(c.from < dayFrom ? [`(${hourly(c.from, dayFrom)})`] : []),
      ...(dayTo < c.to ? [`(${hourly(dayTo, c.to)})`] : []),
    ]
    const parts = [
      `SELECT ${columns} FROM ${this.db}.heatmap_cells_daily WHERE ${base}
        AND day >= toDate(toDateTime({dayFrom:Int64}, 'UTC')) AND day < toDate(toDateTime({dayTo:Int64}, 'UTC'))`,
      ...(ends.length > 0
        ? [`SELECT ${columns} FROM ${this.db}.heatmap_cells WHERE ${base} AND (${ends.join(' OR ')})`]
        : []),
    ]
    return { sql: parts.join('\n        UNION ALL\n        '), params }
  }

  /** Cells of a page at the requested resolution; `scroll` gives the page views reaching each row. */
  async heatmap(q: HeatmapQuery): Promise<HeatmapCells> {
    const r = resolutionOf(q)
    const covered = coveredHours(q.from, q.to)
    if (q.type === 'scroll') {
      const curve = await this.scroll({ ...q, bandPx: r.bandPx })
      const cells = curve.bands.map((b): [number, number, number] => [0, b.y / r.bandPx, b.reached])
      return { xCells: 1, yBandPx: r.bandPx, total: curve.views, cells, covered }
    }
    const src = this.cells(
      q,
      'page = {page:String} AND type = {type:String}',
      'intDiv(cell_y, {yDiv:UInt32}) * 4096 + intDiv(cell_x, {xDiv:UInt16}) AS k, count AS n',
    )
    // One row holding every cell as an `[x, y, count]` array, sorted by y then x, rather than a row per
    // cell: a busy page has tens of thousands of cells, and per-row output (or reshaping them in JS
    // afterwards) costs more than the aggregation on chDB.
    const rs = await this.client.query({
      query: `SELECT arraySort(c -> (c.2, c.1), groupArray((k % 4096, intDiv(k, 4096), n))), sum(n)
        FROM (SELECT k, sum(n) AS n FROM (${src.sql}) GROUP BY k)`,
      query_params: { ...src.params, page: q.page, type: q.type, xDiv: r.xDiv, yDiv: r.yDiv },
      format: 'JSONCompactEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    })
    const [cells = [], total = 0] = (await rs.json<[Array<[number, number, number]>, number]>())[0] ?? []
    return { xCells: r.cols, yBandPx: r.bandPx, total, cells, covered }
  }

  /** Page views of a page (or of every page of the site without one) in a scope. */
  async pageviews(q: Scope & { page?: string | undefined }): Promise<number> {
    const src = this.cells(
      q,
      `type = 'pageview'${q.page !== undefined ? ' AND page = {page:String}' : ''}`,
      'count AS n',
    )
    const rs = await this.client.query({
      query: `SELECT sum(n) FROM (${src.sql})`,
      query_params: { ...src.params, page: q.page ?? '' },
      format: 'JSONCompactEachRow',
    })
    const [row] = await rs.json<[string | number]>()
    return num(row?.[0] ?? 0)
  }

  /** Whether anything was ever stored for this page of the site. */
  async pageExists(siteId: string, page: string): Promise<boolean> {
    const rs = await this.client.query({
      query: `SELECT 1 FROM ${this.db}.heatmap_cells WHERE site_id = {site:String} AND page = {page:String} LIMIT 1
        UNION ALL
        SELECT 1 FROM ${this.db}.scroll_depth WHERE site_id = {site:String} AND page = {page:String} LIMIT 1`,
      query_params: { site: siteId, page },
      format: 'JSONCompactEachRow',
    })
    return (await rs.json<unknown[]>()).length > 0
  }

  /** Share of page views reaching each row, and the average fold; never rises with depth. */
  async scroll(q: Scope & { page: string; bandPx?: number | undefined }): Promise<ScrollCurve> {
    const { bandPx } = resolutionOf({ bandPx: q.bandPx })
    const w = hourlyWhere(q)
    const rs = await this.client.query({
      query: `SELECT band, sum(starts), sum(ends), sum(views), sum(fold_sum)
        FROM ${this.db}.scroll_depth
        WHERE page = {page:String} AND ${w.sql}
        GROUP BY band ORDER BY band`,
      query_params: { ...w.params, page: q.page },
      format: 'JSONCompactEachRow',
    })
    const rows = (await rs.json<Array<string | number>>()).map(
      (r) => r.map(num) as [number, number, number, number, number],
    )
    return scrollCurve(rows, bandPx)
  }

  /** Visible time per row of the page. */
  async attention(q: Scope & { page: string; bandPx?: number | undefined }): Promise<AttentionBands> {
    const [cells, views] = await Promise.all([
      this.heatmap({ ...q, type: 'attention', cols: 1 }),
      this.pageviews(q),
    ])
    let max = 0
    for (const [, , ms] of cells.cells) max = Math.max(max, ms)
    return {
      bandPx: cells.yBandPx,
      views,
      bands: cells.cells.map(([, y, ms]) => ({
        y: y * cells.yBandPx,
        ms,
        msPerView: views > 0 ? ms / views : 0,
        share: max > 0 ? ms / max : 0,
      })),
    }
  }

  /** The page's most clicked elements (or most raged at, or dead-clicked), with their rage and dead clicks. */
  async elements(
    q: Scope & { page: string; limit?: number; sort?: 'clicks' | 'rage' | 'dead' },
  ): Promise<{ totalClicks: number; elements: ElementStat[] }> {
    const w = hourlyWhere(q)
    const order = { clicks: 'c', rage: 'rc', dead: 'd' }[q.sort ?? 'clicks']
    const rs = await this.client.query({
      query: `SELECT selector, sum(clicks) AS c, sum(rage) AS r, sum(rage_clicks) AS rc, sum(dead) AS d,
          sum(sum(clicks)) OVER () AS all_clicks
        FROM ${this.db}.element_clicks
        WHERE page = {page:String} AND ${w.sql}
        GROUP BY selector
        ORDER BY ${order} DESC, c DESC, selector
        LIMIT {limit:UInt32}`,
      query_params: { ...w.params, page: q.page, limit: q.limit ?? 20 },
      format: 'JSONCompactEachRow',
    })
    const rows = await rs.json<[string, string, string, string, string, string]>()
    const totalClicks = num(rows[0]?.[5] ?? 0)
    return {
      totalClicks,
      elements: rows.map(([selector, c, r, rc, d]) => ({
        selector,
        clicks: num(c),
        rage: num(r),
        rageClicks: num(rc),
        dead: num(d),
        share: totalClicks > 0 ? num(c) / totalClicks : 0,
      })),
    }
  }

  /** Where inside one element its clicks landed: `[offX, offY, clicks]` in 16 steps per axis. */
  async elementOffsets(
    q: Scope & { page: string; selector: string },
  ): Promise<Array<[number, number, number]>> {
    const w = hourlyWhere(q)
    const rs = await this.client.query({
      query: `SELECT off_x, off_y, sum(clicks) AS c FROM ${this.db}.element_clicks
        WHERE page = {page:String} AND selector = {selector:String} AND off_x < 255 AND ${w.sql}
        GROUP BY off_x, off_y HAVING c > 0 ORDER BY off_y, off_x`,
      query_params: { ...w.params, page: q.page, selector: q.selector },
      format: 'JSONCompactEachRow',
    })
    return (await rs.json<Array<string | number>>()).map((r) => r.map(num) as [number, number, number])
  }

  /**
   * Two date ranges or two segments of one page's map, each normalised per page view (for `scroll`: per
   * page view reaching the page, so a share), and their difference b − a per cell.
   */
  async compare(
    base: Omit<HeatmapQuery, 'from' | 'to' | keyof Segment>,
    a: { from: number; to: number } & Segment,
    b: { from: number; to: number } & Segment,
  ): Promise<Comparison> {
    const side = async (s: { from: number; to: number } & Segment): Promise<ComparePart> => {
      const q = { ...base, ...s }
      const [h, views] = await Promise.all([
        this.heatmap(q),
        base.type === 'scroll' ? Promise.resolve(-1) : this.pageviews(q),
      ])
      const v = views < 0 ? h.total : views
      const segment: Segment = { viewport: s.viewport, device: s.device, country: s.country }
      return {
        from: s.from,
        to: s.to,
        segment,
        views: v,
        total: h.total,
        cells: h.cells.map(([x, y, n]) => [x, y, v > 0 ? n / v : 0]),
      }
    }
    const [pa, pb] = await Promise.all([side(a), side(b)])
    const r = resolutionOf(base)
    const key = (x: number, y: number): number => y * 4096 + x
    const diff = new Map<number, [number, number, number]>()
    for (const [x, y, n] of pa.cells) diff.set(key(x, y), [x, y, -n])
    for (const [x, y, n] of pb.cells) {
      const d = diff.get(key(x, y))
      if (d === undefined) diff.set(key(x, y), [x, y, n])
      else d[2] += n
    }
    return {
      xCells: base.type === 'scroll' ? 1 : r.cols,
      yBandPx: r.bandPx,
      a: pa,
      b: pb,
      diff: [...diff.values()].sort((p, q) => p[1] - q[1] || p[0] - q[0]),
    }
  }

  /** Pages of a site by page views in a range, most visited first. */
  async pages(
    siteId: string,
    from: number,
    to: number,
    limit = 100,
    segment: Segment = {},
  ): Promise<Array<{ page: string; views: number }>> {
    const src = this.cells({ siteId, from, to, ...segment }, `type = 'pageview'`, 'page, count AS n')
    const rs = await this.client.query({
      query: `SELECT page, sum(n) AS views FROM (${src.sql})
        GROUP BY page ORDER BY views DESC, page LIMIT {limit:UInt32}`,
      query_params: { ...src.params, limit },
      format: 'JSONEachRow',
    })
    return (await rs.json<{ page: string; views: string | number }>()).map((r) => ({
      page: r.page,
      views: num(r.views),
    }))
  }
}
