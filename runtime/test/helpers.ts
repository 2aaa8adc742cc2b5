import { decodeDrained, type FlushBatch, type FlushSink } from '../src/index.ts'

/** A sink that keeps what it is given, once per token, like a store would, so a test can read totals. */
export class RecordingSink implements FlushSink {
  readonly totals = new Map<string, number>()
  readonly tokens = new Set<string>()
  failNext = 0
  async write(batches: readonly FlushBatch[], token: string): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--
      throw new Error('store unavailable')
    }
    if (this.tokens.has(token)) return
    this.tokens.add(token)
    for (const b of batches) {
      const drained = decodeDrained(b.drained)
      for (const type of ['counter', 'probe']) {
        for (const row of (drained[type] ?? []) as Array<{ key: string; add: number }>) {
          this.totals.set(row.key, (this.totals.get(row.key) ?? 0) + row.add)
        }
      }
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
