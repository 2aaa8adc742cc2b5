import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { type JetStreamManager, jetstream, jetstreamManager, RetentionPolicy } from '@nats-io/jetstream'
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node'
import {
  JetStreamTransport,
  type JetStreamTransportOptions,
  RuntimeError,
  type ShardConsumer,
  shardId,
  streamSeq,
} from '../src/index.ts'
import { deleteDurable } from '../src/jetstream-transport.ts'
import { transportContract } from './transport-contract.ts'

const servers = process.env.HM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
const run = randomBytes(4).toString('hex')
const streams: string[] = []
let counter = 0
let admin: NatsConnection
let jsm: JetStreamManager

/** A stream and subject space of its own, deleted after the run. */
function fresh(extra: Partial<JetStreamTransportOptions> = {}): JetStreamTransportOptions {
  const n = ++counter
  const stream = `HM_EVENTS_T${run}_${n}`
  streams.push(stream)
  return { servers, stream, subjectPrefix: `hmtest.${run}.${n}`, ...extra }
}

before(async () => {
  admin = await connect({ servers })
  jsm = await jetstreamManager(admin)
})
after(async () => {
  for (const s of streams) await jsm.streams.delete(s).catch(() => undefined)
  await admin.close()
})

transportContract(
  'JetStream transport',
  async () => {
    const options = fresh()
    return { open: () => JetStreamTransport.open(options) }
  },
  { concurrentOpens: true },
)

const text = (b: Uint8Array): string => new TextDecoder().decode(b)
async function pullTexts(c: ShardConsumer, n: number): Promise<string[]> {
  const got: string[] = []
  while (got.length < n) for (const d of await c.pull(n - got.length)) got.push(text(d.data))
  return got
}
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('JetStream transport specifics', () => {
  test('a batch retried through another connection is stored once', async () => {
    const options = fresh()
    const a = await JetStreamTransport.open(options)
    const b = await JetStreamTransport.open(options)
    const first = await a.publish(shardId(1), bytes('batch'), 'site-1:b-7')
    const again = await b.publish(shardId(1), bytes('batch'), 'site-1:b-7')
    assert.deepEqual(again, { seq: first.seq, duplicate: true })
    await a.close()
    await b.close()
  })

  test('deliveries the server repeats after the ack wait are not served twice', async () => {
    const options = fresh({ ackWaitMs: 1000 })
    const t = await JetStreamTransport.open(options)
    for (let i = 0; i < 3; i++) await t.publish(shardId(0), bytes(`w${i}`), `w${i}`)
    const c = await t.consumer(shardId(0))
    assert.deepEqual(await pullTexts(c, 3), ['w0', 'w1', 'w2'])
    // A pull waiting for news is where the server puts its redeliveries.
    const pending = c.pull(10)
    const name = `shard-0`
    while ((await jsm.consumers.info(options.stream!, name)).num_redelivered === 0) {
      await new Promise((r) => setTimeout(r, 100))
    }
    const last = await t.publish(shardId(0), bytes('news'), 'news')
    assert.deepEqual(
      (await pending).map((d) => text(d.data)),
      ['news'],
    )
    await c.ack(last.seq)
    const info = await jsm.consumers.info(options.stream!, name)
    assert.equal(info.ack_floor.stream_seq, last.seq)
    assert.equal(info.num_ack_pending, 0)
    await t.close()
  })

  /** Five messages, t0 to t4, on shard 3, served to a node that acknowledged the first two. */
  async function served(
    options: JetStreamTransportOptions,
  ): Promise<{ t: JetStreamTransport; c: ShardConsumer; seqs: number[] }> {
    const t = await JetStreamTransport.open(options)
    const seqs: number[] = []
    for (let i = 0; i < 5; i++) seqs.push((await t.publish(shardId(3), bytes(`t${i}`), `t${i}`)).seq)
    const c = await t.consumer(shardId(3))
    await pullTexts(c, 5)
    await c.ack(streamSeq(seqs[1]!))
    return { t, c, seqs }
  }

  test('a durable deleted under a running consumer is re-created after the acknowledged floor', async () => {
    const options = fresh()
    const { t, c, seqs } = await served(options)
    assert.equal((await jsm.consumers.info(options.stream!, 'shard-3')).ack_floor.stream_seq, seqs[1])
    const pending = c.pull(10)
    // As an operator would: the server can fail the first ask while it flushes the ack just taken.
    await deleteDurable(jsm, options.stream!, 'shard-3')
    await t.publish(shardId(3), bytes('t5'), 't5')
    // Already served t2..t4 come again from the server but not to the host.
    assert.deepEqual(
      (await pending).map((d) => text(d.data)),
      ['t5'],
    )
    c.rewind(streamSeq(0))
    assert.deepEqual(await pullTexts(c, 4), ['t2', 't3', 't4', 't5'])
    await t.close()
  })

  /**
   * A connection that hands each JetStream API request to the server, then lets `answer` replace what the
   * server answered (it returns undefined to keep it). `ask` is the connection's own request, untouched.
   */
  async function answering(
    answer: (subject: string, ask: NatsConnection['request']) => Promise<Msg | undefined>,
  ): Promise<NatsConnection> {
    const nc = await connect({ servers })
    const ask = nc.request.bind(nc)
    nc.request = async (subject, payload, opts) => {
      const real = await ask(subject, payload, opts)
      return (await answer(subject, ask)) ?? real
    }
    return nc
  }

  test('a consumer delete the server fails after taking the durable out is asked again; the takeover starts after the floor', {
    timeout: 30_000,
  }, async () => {
    const options = fresh()
    const deletes: string[] = []
    const nc = await answering(async (subject) => {
      if (!subject.startsWith(`$JS.API.CONSUMER.DELETE.${options.stream}.`)) return undefined
      deletes.push(subject)
      if (deletes.length > 1) return undefined
      // nats-server's answer when it could not remove the durable's directory while the durable's state
      // was being flushed into it; the durable itself is gone from the stream by then.
      const error = { code: 500, err_code: 10051, description: 'unlinkat …/obs/shard-3: directory not empty' }
      return {
        data: bytes(JSON.stringify({ type: 'io.nats.jetstream.api.v1.consumer_delete_response', error })),
      } as Msg
    })
    const { t: first } = await served(options)
    const second = await JetStreamTransport.open({ ...options, connection: nc })
    const c2 = await second.consumer(shardId(3))
    assert.deepEqual(await pullTexts(c2, 3), ['t2', 't3', 't4'])
    assert.equal(deletes.length, 2)
    await second.close()
    await first.close()
    await nc.close()
  })

  test('a durable that had delivered before the node pulled (state left by its deleted namesake) is made again', {
    timeout: 30_000,
  }, async () => {
    const options = fresh()
    let creates = 0
    const nc = await answering(async (subject, ask) => {
      if (!subject.startsWith(`$JS.API.CONSUMER.CREATE.${options.stream}.shard-3`)) return undefined
      if (++creates > 1) return undefined
      // Stands for a durable that took up state its deleted namesake left on the server (the failed delete
      // above): it has delivered t2 and would not deliver it again before the ack wait. The node sees its
      // first delivery numbered 2, not 1, and makes the durable again.
      const stale = await jetstream(admin).consumers.get(options.stream!, 'shard-3')
      for await (const _ of await stale.fetch({ max_messages: 1, expires: 2000 })) break
      return ask(`$JS.API.CONSUMER.INFO.${options.stream}.shard-3`)
    })
    const { t: first } = await served(options)
    const second = await JetStreamTransport.open({ ...options, connection: nc })
    const c2 = await second.consumer(shardId(3))
    assert.deepEqual(await pullTexts(c2, 3), ['t2', 't3', 't4'])
    assert.equal(creates, 2)
    await second.close()
    await first.close()
    await nc.close()
  })

  test('a full stream refuses publishes with RT_ERR_TRANSPORT_FULL and keeps what it accepted', async () => {
    const t = await JetStreamTransport.open(fresh({ maxBytes: 2048 }))
    let accepted = 0
    for (;;) {
      try {
        await t.publish(shardId(0), new Uint8Array(200), `f${accepted}`)
        accepted++
      } catch (e) {
        assert.ok(e instanceof RuntimeError && e.code === 'RT_ERR_TRANSPORT_FULL', String(e))
        break
      }
    }
    assert.ok(accepted > 0)
    const c = await t.consumer(shardId(0))
    let got = 0
    while (got < accepted) got += (await c.pull(100)).length
    assert.equal(got, accepted)
    await t.close()
  })

  test('a stream of the same name with other subjects is refused, naming both', async () => {
    const options = fresh()
    await jsm.streams.add({
      name: options.stream!,
      subjects: [`other.${run}.*`],
      retention: RetentionPolicy.Limits,
    })
    await assert.rejects(
      JetStreamTransport.open(options),
      (e: unknown) =>
        e instanceof RuntimeError &&
        e.code === 'RT_ERR_TRANSPORT_STREAM_MISMATCH' &&
        e.message.includes(`other.${run}.*`) &&
        e.message.includes(`${options.subjectPrefix}.*`),
    )
  })

  test('bad options are refused with RT_ERR_BAD_OPTION naming the option', async () => {
    for (const [bad, name] of [
      [{ stream: 'has.dot' }, 'stream'],
      [{ subjectPrefix: 'a.*' }, 'subjectPrefix'],
      [{ fetchBatch: 0 }, 'fetchBatch'],
      [{ ackWaitMs: 10 }, 'ackWaitMs'],
      [{ maxBytes: 0 }, 'maxBytes'],
    ] as const) {
      await assert.rejects(
        JetStreamTransport.open({ servers, ...bad }),
        (e: unknown) =>
          e instanceof RuntimeError && e.code === 'RT_ERR_BAD_OPTION' && e.message.includes(name),
      )
    }
    await assert.rejects(
      JetStreamTransport.open({}),
      (e: unknown) => e instanceof RuntimeError && e.message.includes('servers'),
    )
  })
})
