import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { shardId, streamSeq, type Transport } from '../src/index.ts'

export interface ContractSubject {
  /** Opens the transport on the same durable storage each time it is called. */
  open(): Promise<Transport>
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

/**
 * The contract every transport keeps. The in-process transport runs it here; the JetStream transport
 * runs the same suite against the real server.
 */
export function transportContract(name: string, setup: () => Promise<ContractSubject>): void {
  describe(`transport contract: ${name}`, () => {
    test('messages of a shard arrive in publish order with rising sequences', async () => {
      const s = await setup()
      const t = await s.open()
      for (let i = 0; i < 50; i++) await t.publish(shardId(3), bytes(`m${i}`), `id-${i}`)
      const c = await t.consumer(shardId(3))
      const got: string[] = []
      let last = 0
      while (got.length < 50) {
        for (const d of await c.pull(16)) {
          assert.ok(d.seq > last)
          last = d.seq
          got.push(text(d.data))
        }
      }
      assert.deepEqual(
        got,
        Array.from({ length: 50 }, (_, i) => `m${i}`),
      )
      await t.close()
    })

    test('shards are separate: a consumer sees only its shard', async () => {
      const s = await setup()
      const t = await s.open()
      await t.publish(shardId(0), bytes('zero'), 'a')
      await t.publish(shardId(1), bytes('one'), 'b')
      const got = await (await t.consumer(shardId(1))).pull(10)
      assert.deepEqual(
        got.map((d) => text(d.data)),
        ['one'],
      )
      await t.close()
    })

    test('a publish retried with the same id is stored once', async () => {
      const s = await setup()
      const t = await s.open()
      const first = await t.publish(shardId(2), bytes('x'), 'same')
      const again = await t.publish(shardId(2), bytes('x'), 'same')
      assert.equal(first.duplicate, false)
      assert.equal(again.duplicate, true)
      assert.equal(again.seq, first.seq)
      const c = await t.consumer(shardId(2))
      assert.equal((await c.pull(10)).length, 1)
      await t.close()
    })

    test('a pull waits for the next publish', async () => {
      const s = await setup()
      const t = await s.open()
      const c = await t.consumer(shardId(4))
      const pending = c.pull(10)
      await t.publish(shardId(4), bytes('late'), 'late')
      assert.deepEqual(
        (await pending).map((d) => text(d.data)),
        ['late'],
      )
      await t.close()
    })

    test('an aborted pull resolves empty', async () => {
      const s = await setup()
      const t = await s.open()
      const c = await t.consumer(shardId(5))
      const ac = new AbortController()
      const pending = c.pull(10, ac.signal)
      ac.abort()
      assert.deepEqual(await pending, [])
      await t.close()
    })

    test('a rewind replays what was pulled after the given position, never below the acknowledged floor', async () => {
      const s = await setup()
      const t = await s.open()
      const seqs: number[] = []
      for (let i = 0; i < 6; i++) seqs.push((await t.publish(shardId(7), bytes(`r${i}`), `r${i}`)).seq)
      const c = await t.consumer(shardId(7))
      let got: string[] = []
      while (got.length < 6) got = got.concat((await c.pull(10)).map((d) => text(d.data)))
      await c.ack(streamSeq(seqs[1]!))
      c.rewind(streamSeq(seqs[2]!))
      assert.deepEqual(
        (await c.pull(10)).map((d) => text(d.data)),
        ['r3', 'r4', 'r5'],
      )
      c.rewind(streamSeq(0))
      assert.deepEqual(
        (await c.pull(10)).map((d) => text(d.data)),
        ['r2', 'r3', 'r4', 'r5'],
      )
      await t.close()
    })

    test('accepted messages survive a reopen; acknowledged ones do not come back', async () => {
      const s = await setup()
      const t = await s.open()
      const seqs: number[] = []
      for (let i = 0; i < 10; i++) seqs.push((await t.publish(shardId(6), bytes(`k${i}`), `k${i}`)).seq)
      const c = await t.consumer(shardId(6))
      await c.pull(10)
      await c.ack(streamSeq(seqs[3]!))
      await t.close()
      const t2 = await s.open()
      const c2 = await t2.consumer(shardId(6))
      const got = await c2.pull(100)
      assert.deepEqual(
        got.map((d) => text(d.data)),
        ['k4', 'k5', 'k6', 'k7', 'k8', 'k9'],
      )
      const again = await t2.publish(shardId(6), bytes('k9'), 'k9')
      assert.equal(again.duplicate, true, 'the duplicate window survives the reopen')
      await t2.close()
    })
  })
}
