import type { ClickHouseClient } from '@clickhouse/client'
import { type Segment, segmentWhere } from './filters.ts'

export const sessionSorts = ['started', 'duration', 'pageviews', 'clicks', 'rage', 'dead'] as const
export type SessionSort = (typeof sessionSorts)[number]

export interface SessionListQuery extends Segment {
  siteId: string
  /** Sessions that started in `[from, to)`, ms since the epoch. */
  from: number
  to: number
  browser?: string | undefined
  os?: string | undefined
  /** Sessions that viewed this page / entered on it. */
  page?: string | undefined
  entryPage?: string | undefined
  minDurationMs?: number | undefined
  /** Only sessions with at least one rage (or dead) click. */
  rage?: boolean | undefined
  dead?: boolean | undefined
  /** Only ended sessions (false: only live ones). */
  ended?: boolean | undefined
  sort?: SessionSort | undefined
  order?: 'asc' | 'desc' | undefined
  limit?: number | undefined
  offset?: number | undefined
}

export interface SessionPage {
  page: string
  enteredAt: number
  dwellMs: number
  /** Deepest viewport bottom reached, px, and as a share of the document height. */
  maxScrollPx: number
  maxScroll: number
}

export interface SessionSummary {
  sessionId: string
  visitorId: string
  startedAt: number
  lastEventAt: number
  durationMs: number
  pageviews: number
  clicks: number
  rage: number
  rageClicks: number
  dead: number
  events: number
  entryPage: string
  exitPage: string
  referrer: string
  device: string
  browser: string
  os: string
  country: string
  viewport: string
  ended: boolean
  pages: SessionPage[]
}

export interface TimelineEvent {
  ts: number
  type: string
  page: string
  x: number
  y: number
  selector: string
  value: number
  vw: number
  vh: number
  dw: number
  dh: number
}

const SUMMARY_COLUMNS = `session_id, visitor_id, toUnixTimestamp64Milli(started_at) AS started, toUnixTimestamp64Milli(last_event_at) AS last_at,
  duration_ms, pageviews, clicks, rage, rage_clicks, dead, events, entry_page, exit_page, referrer, device, browser, os,
  country, viewport, ended, pages, arrayMap(t -> toUnixTimestamp64Milli(t), page_entered_at) AS entered,
  page_dwell_ms, page_max_scroll, page_height`

type SummaryRowJson = [
  string,
  string,
  string | number,
  string | number,
  string | number,
  number,
  number,
  number,
  number,
  number,
  number,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  number,
  string[],
  Array<string | number>,
  Array<string | number>,
  number[],
  number[],
]

function toSummary(r: SummaryRowJson): SessionSummary {
  const [pages, entered, dwell, scroll, height] = [r[20], r[21], r[22], r[23], r[24]]
  return {
    sessionId: r[0],
    visitorId: r[1],
    startedAt: Number(r[2]),
    lastEventAt: Number(r[3]),
    durationMs: Number(r[4]),
    pageviews: r[5],
    clicks: r[6],
    rage: r[7],
    rageClicks: r[8],
    dead: r[9],
    events: r[10],
    entryPage: r[11],
    exitPage: r[12],
    referrer: r[13],
    device: r[14],
    browser: r[15],
    os: r[16],
    country: r[17],
    viewport: r[18],
    ended: r[19] === 1,
    pages: pages.map((page, i) => ({
      page,
      enteredAt: Number(entered[i]),
      dwellMs: Number(dwell[i]),
      maxScrollPx: scroll[i] ?? 0,
      maxScroll: (height[i] ?? 0) > 0 ? Math.min(1, (scroll[i] ?? 0) / height[i]!) : 0,
    })),
  }
}

const SORT_COLUMN: Record<SessionSort, string> = {
  started: 'started_at',
  duration: 'duration_ms',
  pageviews: 'pageviews',
  clicks: 'clicks',
  rage: 'rage',
  dead: 'dead',
}

/** Sessions and their timelines; the latest summary of a session (highest version) is the one read. */
export class SessionQueries {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
  ) {}

  async list(q: SessionListQuery): Promise<{ total: number; sessions: SessionSummary[] }> {
    const params: Record<string, string | number> = {
      site: q.siteId,
      from: q.from,
      to: q.to,
      limit: q.limit ?? 50,
      offset: q.offset ?? 0,
    }
    const conds: string[] = []
    segmentWhere(q, conds, params)
    const eq = (col: string, name: string, v: string | undefined): void => {
      if (v === undefined) return
      conds.push(`${col} = {${name}:String}`)
      params[name] = v
    }
    eq('browser', 'browser', q.browser)
    eq('os', 'os', q.os)
    eq('entry_page', 'entry', q.entryPage)
    if (q.page !== undefined) {
      conds.push('has(pages, {page:String})')
      params.page = q.page
    }
    if (q.minDurationMs !== undefined) {
      conds.push('duration_ms >= {minDuration:UInt64}')
      params.minDuration = q.minDurationMs
    }
    if (q.rage !== undefined) conds.push(q.rage ? 'rage > 0' : 'rage = 0')
    if (q.dead !== undefined) conds.push(q.dead ? 'dead > 0' : 'dead = 0')
    if (q.ended !== undefined) conds.push(q.ended ? 'ended = 1' : 'ended = 0')
    const order = q.order === 'asc' ? 'ASC' : 'DESC'
    const sort = SORT_COLUMN[q.sort ?? 'started']
    // Filters apply to the latest summary only: deduplicate first, then filter.
    const rs = await this.client.query({
      query: `SELECT ${SUMMARY_COLUMNS}, count() OVER () AS total
        FROM (
          SELECT * FROM ${this.db}.sessions
          WHERE site_id = {site:String}
            AND started_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
            AND started_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
          ORDER BY version DESC
          LIMIT 1 BY session_id
        )
        ${conds.length > 0 ? `WHERE ${conds.join(' AND ')}` : ''}
        ORDER BY ${sort} ${order}, session_id
        LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
      query_params: params,
      format: 'JSONCompactEachRow',
    })
    const rows = await rs.json<[...SummaryRowJson, string | number]>()
    return {
      total: Number(rows[0]?.[25] ?? 0),
      sessions: rows.map((r) => toSummary(r.slice(0, 25) as SummaryRowJson)),
    }
  }

  async get(siteId: string, sessionId: string): Promise<SessionSummary | undefined> {
    const rs = await this.client.query({
      query: `SELECT ${SUMMARY_COLUMNS} FROM ${this.db}.sessions
        WHERE site_id = {site:String} AND session_id = {session:String}
        ORDER BY version DESC LIMIT 1`,
      query_params: { site: siteId, session: sessionId },
      format: 'JSONCompactEachRow',
    })
    const [row] = await rs.json<SummaryRowJson>()
    return row === undefined ? undefined : toSummary(row)
  }

  /** The session's stored events in time order, for cursor replay (at most `limit`). */
  async timeline(siteId: string, sessionId: string, limit = 5000): Promise<TimelineEvent[]> {
    const rs = await this.client.query({
      query: `SELECT toUnixTimestamp64Milli(ts), type, page, x, y, selector, value, vw, vh, dw, dh
        FROM ${this.db}.events
        WHERE site_id = {site:String} AND session_id = {session:String}
        ORDER BY ts, type
        LIMIT {limit:UInt32}`,
      query_params: { site: siteId, session: sessionId, limit },
      format: 'JSONCompactEachRow',
    })
    const rows =
      await rs.json<
        [
          string | number,
          string,
          string,
          number,
          number,
          string,
          string | number,
          number,
          number,
          number,
          number,
        ]
      >()
    return rows.map(([ts, type, page, x, y, selector, value, vw, vh, dw, dh]) => ({
      ts: Number(ts),
      type,
      page,
      x,
      y,
      selector,
      value: Number(value),
      vw,
      vh,
      dw,
      dh,
    }))
  }
}
