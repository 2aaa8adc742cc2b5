import type { ClickHouseClient } from '@clickhouse/client'
import { type FlushBatch, type FlushSink, insertOnce } from '@hm/runtime'
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
 * Makes the actors' drained records durable in ClickHouse: one insert per table per flush (the few large
 * inserts ClickHouse likes, in JSONCompactEachRow), each carrying a deduplication token made of the
 * flush's token and the table. The runtime applies a committed flush again after a crash, or on another
 * node; ClickHouse then drops the inserts that had landed and stores the rest, so nothing is counted
 * twice. (The daily rollup is fed by a materialized view; its inserts are deduplicated with the source's.)
 *
 * A failed write leaves the flush with the runtime host, which offers it again; the sink backs off
 * exponentially between attempts so a down store is not hammered every flush interval. The host bounds
 * what it keeps (`maxUnwrittenBatches`) by pausing its consumers.
 */
export class ClickHouseSink implements FlushSink {
  private readonly retention: RetentionPolicy
  private readonly backoffMs: number
  private readonly maxBackoffMs: number
  private readonly now: () => number
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
  }

  /** Writes failed in a row; 0 once a write succeeds. */
  get failuresInARow(): number {
    return this.failures
  }

  async write(batches: readonly FlushBatch[], token: string): Promise<void> {
    const now = this.now()
    if (now < this.retryAt) throw new SinkBackoffError(this.retryAt)
    try {
      await this.writeAll(batches, token)
      this.failures = 0
      this.retryAt = 0
    } catch (e) {
      this.failures++
      this.retryAt = now + Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (this.failures - 1))
      throw e
    }
  }

  private async writeAll(batches: readonly FlushBatch[], token: string): Promise<void> {
    const rows: Record<TableName, unknown[][]> = {
      cells: [],
      elements: [],
      events: [],
      scroll: [],
      sessions: [],
    }
    const add = <R>(
      records: R[] | undefined,
      table: TableName,
      pick: (r: R) => readonly unknown[] | undefined,
    ) => {
      for (const r of records ?? []) {
        const row = pick(r)
        if (row !== undefined) rows[table].push([...row, this.retention(row[0] as string)])
      }
    }
    for (const b of batches) {
      const page = b.drained[PAGE_ACTOR] as PageRecord[] | undefined
      add(page, 'cells', (r) => (r[0] === 'c' ? r[1] : undefined))
      add(page, 'elements', (r) => (r[0] === 'e' ? r[1] : undefined))
      const session = b.drained[SESSION_ACTOR] as SessionRecord[] | undefined
      add(session, 'events', (r) => (r[0] === 'ev' ? r[1] : undefined))
      add(session, 'scroll', (r) => (r[0] === 'sd' ? r[1] : undefined))
      add(session, 'sessions', (r) => (r[0] === 's' ? r[1] : undefined))
    }
    for (const name of Object.keys(tables) as TableName[]) {
      if (rows[name].length === 0) continue
      const t = tables[name]
      await this.client.insert({
        table: insertOnce(`${this.db}.${t.name}`, [...t.columns, 'retention_days'], `${token}:${t.name}`),
        values: rows[name],
        format: 'JSONCompactEachRow',
      })
    }
  }
}
