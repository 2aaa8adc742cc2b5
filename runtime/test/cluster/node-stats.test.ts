import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import {
  ClusterNode,
  encodeEnvelopes,
  gatherNodeStats,
  JetStreamTransport,
  LeaseFence,
  MemoryRuntimeStore,
  type NodeStats,
  RuntimeHost,
  type ShardId,
  shardOf,
} from '../../src/index.ts'
import { RecordingSink, waitFor } from '../helpers.ts'

const servers = process.env.HM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
const run = randomBytes(4).toString('hex')
const S = 8
const LEASE_MS = 3000
const workerFile = new URL('../fixtures/counter-worker.ts', import.meta.url)
const stream = `HM_EVENTS_NS${run}`
const subjectPrefix = `hmtest.ns.${run}`
const cluster = `hmns_${run}`
let admin: NatsConnection
const cleanups: Array<() => Promise<unknown>> = []
const errors: string[] = []

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

interface Node {
  id: string
  host: RuntimeHost
  node: ClusterNode
}

async function startNode(id: string, sink: RecordingSink, store: MemoryRuntimeStore): Promise<Node> {
  const nc = await connect({ servers })
  const transport = await JetStreamTransport.open({ connection: nc, stream, subjectPrefix })
  const fence = new LeaseFence()
  const host = new RuntimeHost({
    transport,
    sink,
    store: fence.guard(store),
    workerFile,
    shardCount: S,
    threads: 2,
    flushIntervalMs: 50,
    shards: [],
    onError: (e, at) => errors.push(`${id} ${at}: ${e}`),
  })
  await host.start()
  const node = await ClusterNode.join({
    host,
    fence,
    connection: nc,
    cluster,
    nodeId: id,
    leaseMs: LEASE_MS,
    onError: (e, at) => errors.push(`${id} ${at}: ${e}`),
  })
  cleanups.push(async () => {
    await node.drain()
    if (!nc.isClosed()) await nc.close()
  })
  return { id, host, node }
}

const sum = (nodes: NodeStats[], pick: (n: NodeStats) => number): number =>
  nodes.reduce((a, n) => a + pick(n), 0)

describe('node stats across a cluster', () => {
  test('two nodes both answer one gather: their shards split the shard space, their turns add up to the messages', async () => {
    const sink = new RecordingSink()
    const store = new MemoryRuntimeStore()
    const a = await startNode('a', sink, store)
    const b = await startNode('b', sink, store)
    // Both hold shards: the leases have settled over the two members.
    await waitFor(async () => {
      const nodes = await gatherNodeStats(admin, cluster, { expect: 2, windowMs: 1000 })
      return (
        nodes.length === 2 &&
        nodes.every((n) => n.shards.length > 0) &&
        sum(nodes, (n) => n.shards.length) === S
      )
    }, 30_000)

    const producer = await JetStreamTransport.open({ connection: admin, stream, subjectPrefix })
    const keys = Array.from({ length: 32 }, (_, i) => `k${i}`)
    const byShard = new Map<ShardId, Array<readonly [string, string, unknown]>>()
    for (const key of keys) {
      const shard = shardOf('counter', key, S)
      byShard.set(shard, [...(byShard.get(shard) ?? []), ['counter', key, { add: 1, n: 0 }]])
    }
    await Promise.all([...byShard].map(([s, env]) => producer.publish(s, encodeEnvelopes(env), `ns:${s}`)))
    await waitFor(() => keys.every((k) => sink.totals.get(k) === 1), 30_000)

    const nodes = await gatherNodeStats(admin, cluster, { expect: 2, windowMs: 2000 })
    assert.deepEqual(
      nodes.map((n) => n.nodeId),
      ['a', 'b'],
    )
    // Each node reports exactly the shards its host pulls, and together they cover every shard once.
    assert.deepEqual(
      nodes[0]!.shards,
      [...a.host.shards()].sort((x, y) => x - y),
    )
    assert.deepEqual(
      nodes[1]!.shards,
      [...b.host.shards()].sort((x, y) => x - y),
    )
    assert.deepEqual(
      nodes.flatMap((n) => n.shards).sort((x, y) => x - y),
      Array.from({ length: S }, (_, s) => s),
    )
    for (const n of nodes) {
      assert.equal(n.threads, 2, n.nodeId)
      assert.equal(n.workers.length, 2, n.nodeId)
      assert.ok(n.at > 0)
    }
    // Every message was one turn of a counter actor on whichever node owns its key's shard.
    assert.equal(
      sum(nodes, (n) => n.byType.counter?.turns ?? 0),
      keys.length,
    )
    assert.equal(
      sum(nodes, (n) => n.byType.counter?.activations ?? 0),
      keys.length,
    )
    for (const n of nodes) {
      const owned = keys.filter((k) => n.shards.includes(shardOf('counter', k, S))).length
      assert.equal(n.byType.counter?.turns ?? 0, owned, `${n.nodeId} turns`)
    }
    await producer.close()
  })

  test('a drained node stops answering; without `expect` the gather waits out its window', async () => {
    const before = await gatherNodeStats(admin, cluster, { windowMs: 1000 })
    assert.deepEqual(
      before.map((n) => n.nodeId),
      ['a', 'b'],
    )
    // The first cleanup is node a's: drain it now and take it off the list.
    const drainA = cleanups.shift()!
    await drainA()
    const afterDrain = await gatherNodeStats(admin, cluster, { windowMs: 1000 })
    assert.deepEqual(
      afterDrain.map((n) => n.nodeId),
      ['b'],
    )
    assert.deepEqual(errors, [])
  })
})
