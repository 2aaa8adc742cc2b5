import type { ClickHouseClient } from '@clickhouse/client'
import {
  type FlushBatch,
  type FlushSink,
  type ShardId,
  type StreamSeq,
  shardId,
  streamSeq,
} from '@hm/runtime'
import { PAGE_ACTOR, type PageRecord } from '../page-actor.ts'
import { SESSION_ACTOR } from '../session-actor.ts'
import type { SessionRecord } from '../session-records.ts'
import { DEFAULT_RETENTION_DAYS, type RetentionPolicy } from './retention.ts'

export interface ClickHouseSinkOptions {
  /** Retention of a site's rows in days; `DEFAULT_RETENTION_DAYS` for every site by default. */
  retentionDays?: RetentionPolicy
  /** First wait after a failed write; doubles with each failure in a row, up to `maxBackoffMs`. */
  backoffMs?: number
  maxBackoffMs?: number
  now?: () => number
}

/** A write refused without trying, because the store failed recently (the batches stay with the host). */
export class SinkBackoffError extends Error {
  constructor(readonly retryAt: number) {
    super(`ClickHouse failed recently; next attempt after ${new Date(retryAt).toISOString()}`)
    this.name = 'SinkBackoffError'
  }
}

/** The columns of the raw `events` table, in the order the session actors' rows carry them. */
export const EVENT_COLUMNS: readonly string[] = [
  'site_id',
  'ts',
  'session_id',
  'visitor_id',
  'type',
  'page',
  'viewport',
  'device',
  'country',
  'x',
  'y',
  'vw',
  'vh',
  'dw',
  'dh',
  'selector',
  'value',
  'referrer',
]

interface Table {
  name: string
  columns: readonly string[]
}

const tables = {
  cells: {
    name: 'heatmap_cells',
    columns: [
      'site_id',
      'page',
      'type',
      'viewport',
      'device',
      'country',
      'hour',
      'cell_x',
      'cell_y',
      'count',
    ],
  },
  elements: {
    name: 'element_clicks',
    columns: [
      'site_id',
      'page',
      'selector',
      'viewport',
      'device',
      'country',
      'hour',
      'off_x',
      'off_y',
      'clicks',
      'rage',
      'rage_clicks',
      'dead',
    ],
  },
  events: { name: 'events', columns: EVENT_COLUMNS },
  scroll: {
    name: 'scroll_depth',
    columns: [
      'site_id',
      'page',
      'viewport',
      'device',
      'country',
      'hour',
      'band',
      'starts',
      'ends',
      'views',
      'fold_sum',
    ],
  },
  sessions: {
    name: 'sessions',
    columns: [
      'site_id',
      'session_id',
      'visitor_id',
      'started_at',
      'last_event_at',
      'duration_ms',
      'pageviews',
      'clicks',
      'rage',
      'rage_clicks',
      'dead',
      'events',
      'entry_page',
      'exit_page',
      'referrer',
      'device',
      'browser',
      'os',
      'country',
      'viewport',
      'pages',
      'page_entered_at',
      'page_dwell_ms',
      'page_max_scroll',
      'page_height',
      'ended',
      'version',
    ],
  },
} as const satisfies Record<string, Table>

type TableName = keyof typeof tables

/**
 * Makes the actors' drained records durable in ClickHouse: one insert per table per flush cycle (the few
 * large inserts ClickHouse likes, in JSONCompactEachRow), then the positions they cover.
 *
 * A failed write leaves the batches with the runtime host, which offers them again; the sink then
 * skips the tables it had already written them to (so a retry never doubles a count), and backs off
 * exponentially between attempts so a down store is not hammered every flush interval. The host bounds
 * what it keeps (`maxUnwrittenBatches`) by pausing its consumers.
 *
 * TODO(cluster issue): the inserts and the positions are separate statements; a crash between them
 * replays one flush interval. Close it with insert deduplication tokens derived from the shard's covered
 * range, so a replayed flush of the same range is dropped by ClickHouse.
 */
export class ClickHouseSink implements FlushSink {
  private readonly retention: RetentionPolicy
  private readonly backoffMs: number
  private readonly maxBackoffMs: number
  private readonly now: () => number
  /** Drained records already stored in a table by an attempt whose other parts failed. */
  private readonly written = new Map<TableName, WeakSet<object>>()
  private failures = 0
  private retryAt = 0

  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
    options: ClickHouseSinkOptions = {},
  ) {
    this.retention = options.retentionDays ?? (() => DEFAULT_RETENTION_DAYS)
    this.backoffMs = options.backoffMs ?? 500
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000
    this.now = options.now ?? Date.now
    for (const t of Object.keys(tables) as TableName[]) this.written.set(t, new WeakSet())
  }

  /** Writes failed in a row; 0 once a write succeeds. */
  get failuresInARow(): number {
    return this.failures
  }

  async positions(): Promise<Map<ShardId, StreamSeq>> {
    const rs = await this.client.query({
      query: `SELECT shard, max(seq) AS seq FROM ${this.db}.flush_positions GROUP BY shard`,
      format: 'JSONEachRow',
    })
    const rows = await rs.json<{ shard: number; seq: string | number }>()
    return new Map(rows.map((r) => [shardId(Number(r.shard)), streamSeq(Number(r.seq))]))
  }

  async write(batches: readonly FlushBatch[]): Promise<void> {
    const now = this.now()
    if (now < this.retryAt) throw new SinkBackoffError(this.retryAt)
    try {
      await this.writeAll(batches)
      this.failures = 0
      this.retryAt = 0
    } catch (e) {
      this.failures++
      this.retryAt = now + Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (this.failures - 1))
      throw e
    }
  }

  private async writeAll(batches: readonly FlushBatch[]): Promise<void> {
    const rows: Record<TableName, unknown[][]> = {
      cells: [],
      elements: [],
      events: [],
      scroll: [],
      sessions: [],
    }
    const sources: Record<TableName, object[]> = {
      cells: [],
      elements: [],
      events: [],
      scroll: [],
      sessions: [],
    }
    const positions = new Map<number, number>()
    for (const b of batches) {
      positions.set(b.shard, Math.max(positions.get(b.shard) ?? 0, b.upTo))
      const page = b.drained[PAGE_ACTOR] as PageRecord[] | undefined
      if (page !== undefined) {
        this.collect(page, 'cells', rows, sources, (r) => (r[0] === 'c' ? r[1] : undefined))
        this.collect(page, 'elements', rows, sources, (r) => (r[0] === 'e' ? r[1] : undefined))
      }
      const session = b.drained[SESSION_ACTOR] as SessionRecord[] | undefined
      if (session !== undefined) {
        this.collect(session, 'events', rows, sources, (r) => (r[0] === 'ev' ? r[1] : undefined))
        this.collect(session, 'scroll', rows, sources, (r) => (r[0] === 'sd' ? r[1] : undefined))
        this.collect(session, 'sessions', rows, sources, (r) => (r[0] === 's' ? r[1] : undefined))
      }
    }
    for (const name of Object.keys(tables) as TableName[]) {
      if (rows[name].length === 0) continue
      const t = tables[name]
      await this.client.insert({
        table: `${this.db}.${t.name}`,
        values: rows[name],
        columns: [...t.columns, 'retention_days'] as [string, ...string[]],
        format: 'JSONCompactEachRow',
      })
      const done = this.written.get(name)!
      for (const s of sources[name]) done.add(s)
    }
    const at = this.now()
    await this.client.insert({
      table: `${this.db}.flush_positions`,
      values: [...positions].map(([shard, seq]) => [shard, seq, at]),
      format: 'JSONCompactEachRow',
    })
  }

  /** Adds the rows `pick` finds in `records` for `table`, unless an earlier attempt stored them there. */
  private collect<R>(
    records: R[],
    table: TableName,
    rows: Record<TableName, unknown[][]>,
    sources: Record<TableName, object[]>,
    pick: (r: R) => readonly unknown[] | undefined,
  ): void {
    const done = this.written.get(table)
    if (done === undefined || done.has(records)) return
    let found = false
    for (const r of records) {
      const row = pick(r)
      if (row === undefined) continue
      found = true
      rows[table].push([...row, this.retention(row[0] as string)])
    }
    if (found) sources[table].push(records)
  }
}
