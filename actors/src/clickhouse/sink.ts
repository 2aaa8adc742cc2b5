import type { ClickHouseClient } from '@clickhouse/client'
import {
  type FlushBatch,
  type FlushSink,
  type ShardId,
  type StreamSeq,
  shardId,
  streamSeq,
} from '@hm/runtime'
import { type CellRow, PAGE_ACTOR } from '../page-actor.ts'

/**
 * Makes the actors' drained records durable in ClickHouse: one insert per table per flush cycle (the
 * few large inserts ClickHouse likes), then the positions they cover.
 *
 * TODO(cluster issue): the cells insert and the positions insert are two statements; a crash between
 * them replays one flush interval. Close it with insert deduplication tokens derived from the shard's
 * covered range, so a replayed flush of the same range is dropped by ClickHouse.
 */
export class ClickHouseSink implements FlushSink {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
  ) {}

  async positions(): Promise<Map<ShardId, StreamSeq>> {
    const rs = await this.client.query({
      query: `SELECT shard, max(seq) AS seq FROM ${this.db}.flush_positions GROUP BY shard`,
      format: 'JSONEachRow',
    })
    const rows = await rs.json<{ shard: number; seq: string | number }>()
    return new Map(rows.map((r) => [shardId(Number(r.shard)), streamSeq(Number(r.seq))]))
  }

  async write(batches: readonly FlushBatch[]): Promise<void> {
    const cells: CellRow[] = []
    const positions = new Map<number, number>()
    for (const b of batches) {
      const rows = b.drained[PAGE_ACTOR] as CellRow[] | undefined
      if (rows !== undefined) for (const r of rows) cells.push(r)
      positions.set(b.shard, Math.max(positions.get(b.shard) ?? 0, b.upTo))
    }
    if (cells.length > 0) {
      await this.client.insert({
        table: `${this.db}.heatmap_cells`,
        values: cells,
        format: 'JSONCompactEachRow',
      })
    }
    const now = Date.now()
    await this.client.insert({
      table: `${this.db}.flush_positions`,
      values: [...positions].map(([shard, seq]) => [shard, seq, now]),
      format: 'JSONCompactEachRow',
    })
  }
}
