import { promisify } from 'node:util'
import { deflateRaw, inflateRawSync } from 'node:zlib'
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
  /** Each batch's drained bytes follow the packed part, in order; the wire holds their lengths. */
  b: Array<[shard: number, upTo: number, drained: number]>
  s: Array<[type: string, key: string, shard: number, data: Uint8Array | null]>
  r: Array<[type: string, key: string, shard: number, name: string, at: number | null, message: Uint8Array]>
  d: Array<[type: string, key: string, shard: number, seq: number, reason: string, at: number]>
  o: Envelope[]
}

/** Records committed before this layout: all of it msgpack, the drained bytes inside. */
type WireV0 = Omit<Wire, 'b'> & { b: Array<[shard: number, upTo: number, drained: Uint8Array]> }

const packr = new Packr({ useRecords: false })

/** First byte of the layout; a msgpack map (the earlier layout) never starts with it. */
const LAYOUT = 1
const HEAD = 5
/** First byte of a payload whose rest is a layout-1 payload, deflated (raw DEFLATE); no msgpack map starts with it either. */
const DEFLATED = 2

const deflate = promisify(deflateRaw)

/**
 * A flush record's payload as it is committed: `encodeFlush`'s, deflated at level 1 in the thread pool.
 * Most of a payload is the drained messages and the actors' snapshots, which deflate about twentyfold:
 * under the ingest bench the embedded journal grew 5.6 MB a second before (about as fast as the
 * transport's log) and 0.26 MB after. Records committed before keep their layout and read back as they are.
 */
export async function packFlush(
  batches: readonly FlushBatch[],
  content: Omit<FlushContent, 'batches'>,
): Promise<Uint8Array> {
  const deflated = await deflate(encodeFlush(batches, content), { level: 1 })
  return Buffer.concat([Buffer.of(DEFLATED), deflated])
}

/**
 * Layout 1 of a flush record's payload, which `packFlush` deflates (and records committed before it hold as
 * it is): u8 layout | u32 LE length of the packed part | the packed part (msgpack of everything but the
 * drained bytes) | each batch's drained bytes as the worker encoded them. The drained bytes, most of a
 * record, are copied once, into this buffer.
 */
export function encodeFlush(
  batches: readonly FlushBatch[],
  content: Omit<FlushContent, 'batches'>,
): Uint8Array {
  const wire: Wire = {
    b: batches.map((b) => [b.shard, b.upTo, b.drained.byteLength]),
    s: content.snapshots.map((s) => [s.type, s.key, s.shard, s.data]),
    r: content.reminders.map((r) => [r.type, r.key, r.shard, r.name, r.at, r.message]),
    d: content.deadLetters.map((l) => [l.type, l.key, l.shard, l.seq, l.reason, l.at]),
    o: content.outbox,
  }
  const packed = packr.pack(wire)
  const head = Buffer.allocUnsafe(HEAD)
  head.writeUInt8(LAYOUT, 0)
  head.writeUInt32LE(packed.byteLength, 1)
  // concat copies out of msgpackr's shared buffer, which its next call overwrites.
  return Buffer.concat([head, packed, ...batches.map((b) => b.drained)])
}

export function decodeFlush(payload: Uint8Array): FlushContent {
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
  if (view[0] === DEFLATED) return decodeFlush(inflateRawSync(view.subarray(1)))
  let batches: FlushContent['batches']
  let w: Omit<Wire, 'b'>
  if (view[0] === LAYOUT) {
    const end = HEAD + view.readUInt32LE(1)
    const wire = packr.unpack(view.subarray(HEAD, end)) as Wire
    let at = end
    batches = wire.b.map(([shard, upTo, length]) => {
      const drained = view.subarray(at, at + length)
      at += length
      return { shard: shardId(shard), upTo: streamSeq(upTo), drained }
    })
    w = wire
  } else {
    const wire = packr.unpack(view) as WireV0
    batches = wire.b.map(([shard, upTo, drained]) => ({
      shard: shardId(shard),
      upTo: streamSeq(upTo),
      drained,
    }))
    w = wire
  }
  return {
    batches,
    snapshots: w.s.map(([type, key, shard, data]) => ({ type, key, shard, data })),
    reminders: w.r.map(([type, key, shard, name, at, message]) => ({ type, key, shard, name, at, message })),
    deadLetters: w.d.map(([type, key, shard, seq, reason, at]) => ({ type, key, shard, seq, reason, at })),
    outbox: w.o,
  }
}
