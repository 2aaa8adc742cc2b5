import type { ClickHouseClient } from '@clickhouse/client'
import { type FlushBatch, type FlushSink, settleAll } from '@hm/runtime'
import { insertBody } from './client.ts'
import { readTableRows, TABLES, type TableTag } from './rows.ts'

export interface ClickHouseSinkOptions {
  /** Each site's retention days, for batches of journal records written before the workers encoded rows. */
  retention?: () => Readonly<Record<string, number>>
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

/**
 * Makes the actors' drained records durable in ClickHouse: one insert per table per flush (the few large
 * inserts ClickHouse likes), each carrying a deduplication token made of the
 * flush's token and the table. The runtime applies a committed flush again after a crash, or on another
 * node; ClickHouse then drops the inserts that had landed and stores the rest, so nothing is counted
 * twice. (The daily rollup is fed by a materialized view; its inserts are deduplicated with the source's.)
 * The rows arrive as JSONCompactEachRow bodies the workers encoded (`encodeTableRows`): the sink joins
 * them per table and sends the bytes as they are.
 *
 * A failed write leaves the flush with the runtime host, which offers it again; the sink backs off
 * exponentially between attempts so a down store is not hammered every flush interval. The host bounds
 * what it keeps (`maxUnwrittenBatches`) by pausing its consumers.
 */
export class ClickHouseSink implements FlushSink {
  private readonly retention: () => Readonly<Record<string, number>>
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
    this.retention = options.retention ?? (() => ({}))
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
    const bodies = new Map<TableTag, Uint8Array[]>()
    for (const b of batches) {
      for (const [tag, body] of readTableRows(b.drained, this.retention())) {
        const list = bodies.get(tag)
        if (list === undefined) bodies.set(tag, [body])
        else list.push(body)
      }
    }
    // Two tables at a time: each insert waits on its own writes as much as on the CPU, and they are
    // independent (each is stored once under its token, whichever lands first). Not more: chDB runs an
    // insert on a thread of libuv's pool (four by default), where the embedded transport's log writes
    // wait too; with every table at once, accepted batches waited behind them (p99 ~100 → ~140 ms).
    await settleAll(
      [...bodies].map(([tag, parts]) => () => {
        const t = TABLES[tag]
        return insertBody(this.client, {
          table: `${this.db}.${t.name}`,
          columns: [...t.columns, 'retention_days'],
          token: `${token}:${t.name}`,
          format: 'JSONCompactEachRow',
          parts,
        })
      }),
      2,
    )
  }
}
