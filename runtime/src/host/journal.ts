import { Packr } from 'msgpackr'
import type { Envelope } from '../actor.ts'
import { shardId, streamSeq } from '../ids.ts'
import type { DeadLetterRecord, ReminderRecord, SnapshotRecord } from '../store.ts'
import type { FlushBatch } from './options.ts'

/** Everything one flush changes: what a flush record carries, and what applying it writes. */
export interface FlushContent {
  batches: FlushBatch[]
  snapshots: SnapshotRecord[]
  reminders: ReminderRecord[]
  deadLetters: DeadLetterRecord[]
  /** Messages the flushed turns sent to other actors. */
  outbox: Envelope[]
}

type Wire = {
  b: Array<[shard: number, upTo: number, drained: Uint8Array]>
  s: Array<[type: string, key: string, shard: number, data: Uint8Array | null]>
  r: Array<[type: string, key: string, shard: number, name: string, at: number | null, message: Uint8Array]>
  d: Array<[type: string, key: string, shard: number, seq: number, reason: string, at: number]>
  o: Envelope[]
}

const packr = new Packr({ useRecords: false })

/** The payload of a flush record. The drained records go in as the bytes the worker encoded them to. */
export function encodeFlush(
  batches: readonly FlushBatch[],
  content: Omit<FlushContent, 'batches'>,
): Uint8Array {
  const wire: Wire = {
    b: batches.map((b) => [b.shard, b.upTo, b.drained]),
    s: content.snapshots.map((s) => [s.type, s.key, s.shard, s.data]),
    r: content.reminders.map((r) => [r.type, r.key, r.shard, r.name, r.at, r.message]),
    d: content.deadLetters.map((l) => [l.type, l.key, l.shard, l.seq, l.reason, l.at]),
    o: content.outbox,
  }
  // msgpackr packs into a shared buffer that its next call overwrites: the record keeps a copy.
  return new Uint8Array(packr.pack(wire))
}

export function decodeFlush(payload: Uint8Array): FlushContent {
  const w = packr.unpack(payload) as Wire
  return {
    batches: w.b.map(([shard, upTo, drained]) => ({
      shard: shardId(shard),
      upTo: streamSeq(upTo),
      drained,
    })),
    snapshots: w.s.map(([type, key, shard, data]) => ({ type, key, shard, data })),
    reminders: w.r.map(([type, key, shard, name, at, message]) => ({ type, key, shard, name, at, message })),
    deadLetters: w.d.map(([type, key, shard, seq, reason, at]) => ({ type, key, shard, seq, reason, at })),
    outbox: w.o,
  }
}
