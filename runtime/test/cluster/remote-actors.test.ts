import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import {
  ClusterClient,
  ClusterNode,
  encodeEnvelopes,
  JetStreamTransport,
  LeaseFence,
  MemoryRuntimeStore,
  placeShards,
  RuntimeHost,
  shardOf,
} from '../../src/index.ts'
import { RecordingSink, waitFor } from '../helpers.ts'

const servers = process.env.HM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
const run = randomBytes(4).toString('hex')
const S = 8
const stream = `HM_RA_${run}`
const subjectPrefix = `hmtest.ra.${run}`
const cluster = `hmra_${run}`
const workerFile = new URL('../fixtures/probe-worker.ts', import.meta.url)
let admin: NatsConnection
const cleanups: Array<() => Promise<unknown>> = []

before(async () => {
  admin = await connect({ servers })
})
after(async () => {
  for (const c of cleanups.reverse()) await c().catch((e) => console.error('cleanup', e))
  const jsm = await jetstreamManager(admin)
  for (const s of [stream, `KV_${cluster}_members`, `KV_${cluster}_leases`])
    await jsm.streams.delete(s).catch(() => undefined)
  await admin.close()
})

const sink = new RecordingSink()
const store = new MemoryRuntimeStore()
/** Every node this file started, by id (they live until the file ends). */
const started = new Map<string, ClusterNode>()

async function startNode(id: string): Promise<ClusterNode> {
  const nc = await connect({ servers, maxReconnectAttempts: -1 })
  const transport = await JetStreamTransport.open({ connection: nc, stream, subjectPrefix })
  const fence = new LeaseFence()
  const host = new RuntimeHost({
    transport,
    sink,
    store: fence.guard(store),
    workerFile,
    shardCount: S,
    threads: 1,
    flushIntervalMs: 50,
    shards: [],
    askTimeoutMs: 3000,
  })
  await host.start()
  const node = await ClusterNode.join({ host, fence, connection: nc, cluster, nodeId: id, leaseMs: 3000 })
  started.set(id, node)
  cleanups.push(async () => {
    await node.drain()
    await nc.close()
  })
  return node
}

describe('asks and live topics across nodes', () => {
  test("a node asks and watches an actor whose shard another node owns; the owner's errors come back", async () => {
    const a = await startNode('a')
    const b = await startNode('b')
    const placement = placeShards(S, ['a', 'b'])
    await waitFor(
      () => a.status().shards.length + b.status().shards.length === S && b.status().shards.length > 0,
      30_000,
    )
    // A key of a shard b owns, so every call from a crosses nodes.
    const key = Array.from({ length: 100 }, (_, i) => `ra${i}`).find(
      (k) => placement[shardOf('probe', k, S)] === 'b' && b.status().shards.includes(shardOf('probe', k, S)),
    )!
    assert.ok(key, 'a key on b')
    const producer = await JetStreamTransport.open({ servers, stream, subjectPrefix })
    cleanups.push(() => producer.close())
    const add = (n: number, id: string) =>
      producer.publish(shardOf('probe', key, S), encodeEnvelopes([['probe', key, { add: n }]]), id)

    await add(5, 'first')
    const total = async (): Promise<number> => (await a.ask<{ total: number }>('probe', key, {})).total
    await waitFor(async () => (await total()) === 5, 30_000)

    // Watching from a: b's actor publishes (it learns of a's interest) and a hears it.
    const heard: Array<{ total: number }> = []
    const stop = a.watch(`probe/${key}`, (p) => heard.push(p as { total: number }))
    await stop.ready
    let n = 0
    await waitFor(async () => {
      // Interest reaches b within a moment: keep adding until a delta arrives.
      await add(1, `more-${n++}`)
      await new Promise((r) => setTimeout(r, 100))
      return heard.length > 0
    }, 30_000)
    assert.ok(heard.at(-1)!.total > 5)
    stop()

    // What the owner's host throws reaches the caller, said to come from another node.
    await assert.rejects(a.ask('nope', key, {}), /another node.*no actor type of this name is registered/)
  })

  test('a process hosting no actors (a gateway-only node) asks, watches and sees the shards, holding none', async () => {
    await startNode('c1')
    await startNode('c2')
    const nc = await connect({ servers, maxReconnectAttempts: -1 })
    const client = await ClusterClient.open({
      connection: nc,
      cluster,
      nodeId: 'gw',
      shardCount: S,
      leaseMs: 3000,
      askTimeoutMs: 3000,
    })
    cleanups.push(async () => {
      client.close()
      await nc.close()
    })
    // It is not a member: the members, placement and leases it sees are the runtime nodes' alone.
    const ids = [...started.keys()].sort()
    const agrees = (): boolean => {
      const v = client.status()
      return (
        JSON.stringify(v.members) === JSON.stringify(ids) &&
        v.leaseHolders.every(
          (h, s) =>
            h !== null &&
            started
              .get(h)
              ?.status()
              .shards.includes(s as never) === true,
        )
      )
    }
    await waitFor(agrees, 30_000)
    const view = client.status()
    assert.deepEqual(view.shards, [])
    assert.deepEqual(view.placement, placeShards(S, ids))

    const key = 'from-gateway'
    const producer = await JetStreamTransport.open({ servers, stream, subjectPrefix })
    cleanups.push(() => producer.close())
    const add = (n: number, id: string) =>
      producer.publish(shardOf('probe', key, S), encodeEnvelopes([['probe', key, { add: n }]]), id)
    await add(7, 'gw-first')
    await waitFor(async () => (await client.ask<{ total: number }>('probe', key, {})).total === 7, 30_000)

    const heard: Array<{ total: number }> = []
    const stop = client.watch(`probe/${key}`, (p) => heard.push(p as { total: number }))
    await stop.ready
    let n = 0
    await waitFor(async () => {
      await add(1, `gw-more-${n++}`)
      await new Promise((r) => setTimeout(r, 100))
      return heard.length > 0
    }, 30_000)
    assert.ok(heard.at(-1)!.total > 7)
    stop()
  })
})
