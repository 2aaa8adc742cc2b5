import type { FlushBatch, FlushSink, ShardId, StreamSeq } from '../src/index.ts'

/** A sink that keeps what it is given, like a store would, so a test can read totals and positions. */
export class RecordingSink implements FlushSink {
  readonly totals = new Map<string, number>()
  readonly positionsByShard = new Map<ShardId, StreamSeq>()
  failNext = 0
  async positions(): Promise<Map<ShardId, StreamSeq>> {
    return new Map(this.positionsByShard)
  }
  async write(batches: readonly FlushBatch[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--
      throw new Error('store unavailable')
    }
    for (const b of batches) {
      for (const type of ['counter', 'probe']) {
        for (const row of (b.drained[type] ?? []) as Array<{ key: string; add: number }>) {
          this.totals.set(row.key, (this.totals.get(row.key) ?? 0) + row.add)
        }
      }
      this.positionsByShard.set(
        b.shard,
        Math.max(this.positionsByShard.get(b.shard) ?? 0, b.upTo) as StreamSeq,
      )
    }
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 10))
  }
}
