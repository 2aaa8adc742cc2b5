import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Packr } from 'msgpackr'
import { decodeFlush, encodeFlush, type FlushContent, packFlush } from '../src/host/journal.ts'
import { shardId, streamSeq } from '../src/index.ts'

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const plain = (c: FlushContent) => ({
  ...c,
  batches: c.batches.map((b) => ({ ...b, drained: [...b.drained] })),
  snapshots: c.snapshots.map((s) => ({ ...s, data: s.data && [...s.data] })),
  reminders: c.reminders.map((r) => ({ ...r, message: [...r.message] })),
})

const content: FlushContent = {
  batches: [
    { shard: shardId(3), upTo: streamSeq(41), drained: bytes('rows of shard 3\n') },
    { shard: shardId(0), upTo: streamSeq(7), drained: new Uint8Array() },
    { shard: shardId(5), upTo: streamSeq(99), drained: bytes('[1,"a"]\n[2,"b"]\n') },
  ],
  snapshots: [
    { type: 'page', key: 'p1', shard: 3, data: bytes('state') },
    { type: 'session', key: 's1', shard: 5, data: null },
  ],
  reminders: [
    { type: 'session', key: 's2', shard: 5, name: 'end', at: 1_700_000_000_000, message: bytes('m') },
  ],
  deadLetters: [{ type: 'page', key: 'p9', shard: 0, seq: 6, reason: 'threw', at: 1_700_000_000_001 }],
  outbox: [['page', 'p2', { add: 1 }]],
}

test('a flush payload reads back whole: every batch its own drained bytes, in order', async () => {
  const { batches, ...rest } = content
  const payload = await packFlush(batches, rest)
  assert.deepEqual(plain(decodeFlush(payload)), plain(content))
  // Read from a view into a larger buffer, as a journal segment hands it out.
  const framed = new Uint8Array(payload.byteLength + 10)
  framed.set(payload, 7)
  assert.deepEqual(plain(decodeFlush(framed.subarray(7, 7 + payload.byteLength))), plain(content))
})

test('a payload is stored deflated: a repetitive one comes out a fraction of its size and reads back', async () => {
  const rows = bytes('{"type":"click","x":120,"y":4031,"page":"/pricing"}\n'.repeat(2000))
  const batches = [{ shard: shardId(1), upTo: streamSeq(2000), drained: rows }]
  const { batches: _, ...rest } = content
  const plainPayload = encodeFlush(batches, rest)
  const payload = await packFlush(batches, rest)
  assert.ok(
    payload.byteLength * 20 < plainPayload.byteLength,
    `${payload.byteLength} of ${plainPayload.byteLength}`,
  )
  assert.deepEqual([...decodeFlush(payload).batches[0]!.drained], [...rows])
})

test('a payload of the layout before deflating (committed by an earlier version) still reads back', () => {
  const { batches, ...rest } = content
  assert.deepEqual(plain(decodeFlush(encodeFlush(batches, rest))), plain(content))
})

test('a payload of the earlier layout (all msgpack, drained bytes inside) still reads back', () => {
  const v0 = new Packr({ useRecords: false }).pack({
    b: content.batches.map((b) => [b.shard, b.upTo, b.drained]),
    s: content.snapshots.map((s) => [s.type, s.key, s.shard, s.data]),
    r: content.reminders.map((r) => [r.type, r.key, r.shard, r.name, r.at, r.message]),
    d: content.deadLetters.map((l) => [l.type, l.key, l.shard, l.seq, l.reason, l.at]),
    o: content.outbox,
  })
  assert.deepEqual(plain(decodeFlush(new Uint8Array(v0))), plain(content))
})
