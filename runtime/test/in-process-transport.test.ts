import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, rm, stat, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { InProcessTransport, RuntimeError, shardId, streamSeq } from '../src/index.ts'
import { transportContract } from './transport-contract.ts'

const dirs: string[] = []
async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hm-transport-'))
  dirs.push(d)
  return d
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

transportContract('in-process transport (write-ahead log)', async () => {
  const dir = await freshDir()
  return { open: () => InProcessTransport.open({ dir }) }
})

describe('in-process transport specifics', () => {
  test('a torn record at the tail of the log is cut off on recovery, earlier records stay', async () => {
    const dir = await freshDir()
    const t = await InProcessTransport.open({ dir })
    await t.publish(shardId(0), new Uint8Array([1]), 'a')
    await t.publish(shardId(0), new Uint8Array([2]), 'b')
    await t.close()
    const [seg] = (await readdir(dir)).filter((n) => n.endsWith('.seg'))
    const path = join(dir, seg!)
    await truncate(path, (await stat(path)).size - 1)
    const t2 = await InProcessTransport.open({ dir })
    const got = await (await t2.consumer(shardId(0))).pull(10)
    assert.deepEqual(
      got.map((d) => [...d.data]),
      [[1]],
    )
    await t2.close()
  })

  test('publishing past the byte cap fails with RT_ERR_TRANSPORT_FULL and keeps what was accepted', async () => {
    const t = await InProcessTransport.open({ maxPendingBytes: 10 })
    await t.publish(shardId(1), new Uint8Array(8), 'x')
    await assert.rejects(
      t.publish(shardId(1), new Uint8Array(8), 'y'),
      (e: unknown) => e instanceof RuntimeError && e.code === 'RT_ERR_TRANSPORT_FULL',
    )
    const c = await t.consumer(shardId(1))
    assert.equal((await c.pull(10)).length, 1)
    await c.ack(streamSeq(1))
    await t.publish(shardId(1), new Uint8Array(8), 'y')
    await t.close()
  })

  test('segments whose messages are all acknowledged and outside the duplicate window are deleted', async () => {
    const dir = await freshDir()
    let now = 1_000_000
    const t = await InProcessTransport.open({
      dir,
      segmentBytes: 64,
      duplicateWindowMs: 1000,
      clock: { now: () => now },
    })
    for (let i = 0; i < 20; i++) await t.publish(shardId(i % 2), new Uint8Array(40), `m${i}`)
    const before = (await readdir(dir)).filter((n) => n.endsWith('.seg')).length
    assert.ok(before > 5, `expected several segments, got ${before}`)
    now += 5000
    for (const s of [0, 1]) await (await t.consumer(shardId(s))).ack(streamSeq(20))
    const afterAck = (await readdir(dir)).filter((n) => n.endsWith('.seg')).length
    assert.equal(afterAck, 1, 'only the active segment remains')
    await t.close()
  })

  test('an id is a duplicate within the window, across a reopen, and new again after it', async () => {
    const dir = await freshDir()
    let now = 1_000_000
    const open = () => InProcessTransport.open({ dir, duplicateWindowMs: 1000, clock: { now: () => now } })
    const t = await open()
    const first = await t.publish(shardId(0), new Uint8Array([1]), 'a')
    // Many ids after it: the window forgets the oldest first, and keeps every id still inside it.
    for (let i = 0; i < 3000; i++) {
      now += i % 10 === 0 ? 1 : 0
      await t.publish(shardId(1), new Uint8Array([2]), `b${i}`)
    }
    assert.deepEqual(await t.publish(shardId(0), new Uint8Array([1]), 'a'), {
      seq: first.seq,
      duplicate: true,
    })
    now = 1_000_999
    assert.equal((await t.publish(shardId(1), new Uint8Array([2]), 'b0')).duplicate, true)
    await t.close()
    const again = await open()
    assert.deepEqual(await again.publish(shardId(0), new Uint8Array([1]), 'a'), {
      seq: first.seq,
      duplicate: true,
    })
    now = 1_001_002
    const late = await again.publish(shardId(0), new Uint8Array([1]), 'a')
    assert.equal(late.duplicate, false)
    assert.ok(late.seq > first.seq)
    // b2999 was published at 1_000_300: still inside the window; b0 (at 1_000_001) is not.
    assert.equal((await again.publish(shardId(1), new Uint8Array([2]), 'b2999')).duplicate, true)
    assert.equal((await again.publish(shardId(1), new Uint8Array([2]), 'b0')).duplicate, false)
    await again.close()
  })

  test('a retry during the write answers with its outcome; after a failed write the id is stored anew', async () => {
    const dir = await freshDir()
    // Every write starts a segment of its own.
    const t = await InProcessTransport.open({ dir, segmentBytes: 1 })
    const [one, two] = await Promise.all([
      t.publish(shardId(0), new Uint8Array([1]), 'w'),
      t.publish(shardId(0), new Uint8Array([1]), 'w'),
    ])
    assert.deepEqual([one.duplicate, two.duplicate, two.seq], [false, true, one.seq])
    // The log's directory goes away under it: the next write fails, and so does its retry meanwhile.
    await rm(dir, { recursive: true, force: true })
    const failed = await Promise.allSettled([
      t.publish(shardId(0), new Uint8Array([3]), 'f'),
      t.publish(shardId(0), new Uint8Array([3]), 'f'),
    ])
    assert.deepEqual(
      failed.map((r) => r.status),
      ['rejected', 'rejected'],
    )
    await mkdir(dir)
    assert.equal((await t.publish(shardId(0), new Uint8Array([3]), 'f')).duplicate, false)
    await t.close()
  })
})
