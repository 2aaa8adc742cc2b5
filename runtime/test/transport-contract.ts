import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type ShardConsumer, shardId, streamSeq, type Transport } from '../src/index.ts'

export interface ContractSubject {
  /** Opens the transport on the same durable storage each time it is called. */
  open(): Promise<Transport>
}

export interface ContractCapabilities {
  /**
   * Two transports on the same storage may be live at once, as the nodes of a cluster are: the suite then
   * checks that a second node takes a shard over from a first one that never closed.
   */
  concurrentOpens?: boolean
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

/** Pulls until `n` messages arrived: a transport may hand out what it has in several pulls. */
async function pullTexts(c: ShardConsumer, n: number): Promise<string[]> {
  const got: string[] = []
  while (got.length < n) for (const d of await c.pull(n - got.length)) got.push(text(d.data))
  return got
}

/**
 * The contract every transport keeps. The in-process transport runs it here; the JetStream transport
 * runs the same suite against the real server.
 */
export function transportContract(
  name: string,
  setup: () => Promise<ContractSubject>,
  capabilities: ContractCapabilities = {},
): void {
  // Not a speed target: a message that only comes back after an ack wait or a lost wake-up fails here.
  const bounded = { timeout: 30_000 }
  describe(`transport contract: ${name}`, () => {
    test('messages of a shard arrive in publish order with rising sequences', bounded, async () => {
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

    test('shards are separate: a consumer sees only its shard', bounded, async () => {
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

    test('a publish retried with the same id is stored once', bounded, async () => {
      const s = await setup()
      const t = await s.open()
      const first = await t.publish(shardId(2), bytes('x'), 'same')
      const again = await t.publish(shardId(2), bytes('x'), 'same')
      assert.equal(first.duplicate, false)
      assert.equal(again.duplicate, true)
      assert.equal(again.seq, first.seq)
      await t.publish(shardId(2), bytes('end'), 'end')
      const c = await t.consumer(shardId(2))
      // Everything up to the marker: a second copy of x would sit before it.
      const got: string[] = []
      while (got.at(-1) !== 'end') for (const d of await c.pull(10)) got.push(text(d.data))
      assert.deepEqual(got, ['x', 'end'])
      await t.close()
    })

    test('a pull waits for the next publish', bounded, async () => {
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

    test('an aborted pull resolves empty', bounded, async () => {
      const s = await setup()
      const t = await s.open()
      const c = await t.consumer(shardId(5))
      const ac = new AbortController()
      const pending = c.pull(10, ac.signal)
      ac.abort()
      assert.deepEqual(await pending, [])
      await t.close()
    })

    test(
      'a closed consumer answers pulls empty, a waiting one at once, and takes nothing more',
      bounded,
      async () => {
        const s = await setup()
        const t = await s.open()
        const c = await t.consumer(shardId(10))
        const pending = c.pull(10)
        c.close()
        assert.deepEqual(await pending, [])
        await t.publish(shardId(10), new Uint8Array([1]), 'closed-1')
        assert.deepEqual(await c.pull(10), [])
        c.close()
        // The shard itself goes on: a new consumer gets what was published.
        const next = await t.consumer(shardId(10))
        assert.equal((await next.pull(10)).length, 1)
        await t.close()
      },
    )

    test(
      'a rewind replays what was pulled after the given position, never below the acknowledged floor',
      bounded,
      async () => {
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
      },
    )

    test('accepted messages survive a reopen; acknowledged ones do not come back', bounded, async () => {
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
      assert.deepEqual(await pullTexts(c2, 6), ['k4', 'k5', 'k6', 'k7', 'k8', 'k9'])
      const again = await t2.publish(shardId(6), bytes('k9'), 'k9')
      assert.equal(again.duplicate, true, 'the duplicate window survives the reopen')
      await t2.close()
    })

    test(
      'after a restart, messages pulled but not acknowledged come first, in order, and can be rewound',
      bounded,
      async () => {
        const s = await setup()
        const t = await s.open()
        const seqs: number[] = []
        for (let i = 0; i < 6; i++) seqs.push((await t.publish(shardId(8), bytes(`u${i}`), `u${i}`)).seq)
        const c = await t.consumer(shardId(8))
        await pullTexts(c, 6)
        await c.ack(streamSeq(seqs[1]!))
        await t.close()
        const t2 = await s.open()
        await t2.publish(shardId(8), bytes('u6'), 'u6')
        await t2.publish(shardId(8), bytes('u7'), 'u7')
        const c2 = await t2.consumer(shardId(8))
        assert.deepEqual(await pullTexts(c2, 6), ['u2', 'u3', 'u4', 'u5', 'u6', 'u7'])
        c2.rewind(streamSeq(0))
        assert.deepEqual(await pullTexts(c2, 6), ['u2', 'u3', 'u4', 'u5', 'u6', 'u7'])
        await t2.close()
      },
    )

    if (!capabilities.concurrentOpens) return
    test(
      'a second node takes a shard over after the acknowledged floor while the first never closed',
      bounded,
      async () => {
        const s = await setup()
        const first = await s.open()
        const seqs: number[] = []
        for (let i = 0; i < 8; i++) seqs.push((await first.publish(shardId(9), bytes(`h${i}`), `h${i}`)).seq)
        const c1 = await first.consumer(shardId(9))
        await pullTexts(c1, 8)
        await c1.ack(streamSeq(seqs[2]!))
        // The first node stops pulling (it handed the shard off, or it hangs) but stays connected.
        const second = await s.open()
        const c2 = await second.consumer(shardId(9))
        assert.deepEqual(await pullTexts(c2, 5), ['h3', 'h4', 'h5', 'h6', 'h7'])
        await first.publish(shardId(9), bytes('h8'), 'h8')
        assert.deepEqual(await pullTexts(c2, 1), ['h8'])
        await c2.ack(streamSeq(seqs[5]!))
        await second.close()
        await first.close()
        const third = await s.open()
        const c3 = await third.consumer(shardId(9))
        assert.deepEqual(await pullTexts(c3, 3), ['h6', 'h7', 'h8'])
        await third.close()
      },
    )
  })
}
