import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { ClusterMember, placeShards, RuntimeError } from '../../src/index.ts'
import { OwnershipRecorder } from './ownership-recorder.ts'

const servers = process.env.HM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222'
const run = randomBytes(4).toString('hex')
const S = 64
// Short leases keep the test quick; nothing below asserts on how long anything took.
const LEASE_MS = 3000
let n = 0
let admin: NatsConnection
const cleanups: Array<() => Promise<unknown>> = []

before(async () => {
  admin = await connect({ servers })
})
after(async () => {
  for (const c of cleanups.reverse()) await c().catch((e) => console.error('cleanup', e))
  await admin.close()
})

interface Scene {
  cluster: string
  recorder: OwnershipRecorder
  join(nodeId: string, nc?: NatsConnection): Promise<ClusterMember>
  /** Waits until the recorded owners are exactly rendezvous placement over `members`. */
  settled(members: string[]): Promise<void>
  errors: string[]
}

async function scene(): Promise<Scene> {
  const cluster = `hmt_${run}_${++n}`
  const recorder = await OwnershipRecorder.create(admin, `HM_OWNERSHIP_${run}_${n}`, `hmtest.own.${run}.${n}`)
  const jsm = await jetstreamManager(admin)
  cleanups.push(async () => {
    await recorder.destroy()
    for (const b of ['members', 'leases'])
      await jsm.streams.delete(`KV_${cluster}_${b}`).catch(() => undefined)
  })
  const errors: string[] = []
  return {
    cluster,
    recorder,
    errors,
    async join(nodeId, nc) {
      const connection = nc ?? (await connect({ servers }))
      const member = await ClusterMember.join({
        connection,
        cluster,
        nodeId,
        shardCount: S,
        leaseMs: LEASE_MS,
        ...recorder.callbacks(nodeId),
        onError: (e, where) => errors.push(`${nodeId} ${where}: ${e}`),
      })
      cleanups.push(async () => {
        if (!connection.isClosed()) await connection.close()
      })
      return member
    },
    settled: (members) =>
      recorder.until(() => {
        const want = placeShards(S, members)
        return want.every((node, s) => recorder.owners.get(s) === node)
      }),
  }
}

function spawnMember(s: Scene, nodeId: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./fixtures/member-process.ts', import.meta.url).pathname],
    {
      env: {
        ...process.env,
        MEMBER_NATS_URL: servers,
        MEMBER_CLUSTER: s.cluster,
        MEMBER_NODE_ID: nodeId,
        MEMBER_SHARDS: String(S),
        MEMBER_LEASE_MS: String(LEASE_MS),
        MEMBER_RECORD_SUBJECT: s.recorder.subject,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (b: Buffer) => {
      if (b.toString().includes('joined')) resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`member ${nodeId} exited with ${code} before joining`)))
  })
}

/** Polls `done` until it holds; a bound on waiting, not on speed. */
async function eventually(done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > until) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

const owned = (r: OwnershipRecorder, node: string): number[] =>
  [...r.owners]
    .filter(([, o]) => o === node)
    .map(([s]) => s)
    .sort((x, y) => x - y)

describe('cluster membership and shard placement (real NATS)', () => {
  test('joins and a graceful leave keep one owner per shard; only the newcomer’s or the leaver’s shards move', async (t) => {
    const s = await scene()
    const [a, b, c] = await Promise.all([s.join('node-a'), s.join('node-b'), s.join('node-c')])
    await s.settled(['node-a', 'node-b', 'node-c'])
    const before = new Map(s.recorder.owners)
    const acquiredBefore = s.recorder.count('acquire')

    const d = await s.join('node-d')
    await s.settled(['node-a', 'node-b', 'node-c', 'node-d'])
    const moved = [...before].filter(([shard, owner]) => s.recorder.owners.get(shard) !== owner)
    for (const [shard] of moved) assert.equal(s.recorder.owners.get(shard), 'node-d')
    // Rendezvous gives the newcomer Binomial(S, 1/4) shards: 3 standard deviations of slack.
    const bound = Math.ceil(S / 4) + Math.ceil(3 * Math.sqrt(S * (1 / 4) * (3 / 4)))
    assert.ok(moved.length <= bound, `${moved.length} shards moved on a join, bound ${bound}`)
    t.diagnostic(
      `a fourth node took ${moved.length} of ${S} shards (⌈S/4⌉ = ${Math.ceil(S / 4)}, bound ${bound})`,
    )
    assert.equal(s.recorder.count('acquire') - acquiredBefore, moved.length, 'no shard moved twice')
    // The recorder hears of an acquire before the member's onAcquire returns: wait for the member too.
    await eventually(() => d.owned().join() === owned(s.recorder, 'node-d').join())
    assert.deepEqual(d.owned(), owned(s.recorder, 'node-d'))

    const leaverHad = owned(s.recorder, 'node-b')
    const beforeLeave = new Map(s.recorder.owners)
    await b.leave()
    await s.settled(['node-a', 'node-c', 'node-d'])
    const movedOnLeave = [...beforeLeave].filter(([shard, owner]) => s.recorder.owners.get(shard) !== owner)
    assert.deepEqual(
      movedOnLeave.map(([shard]) => shard).sort((x, y) => x - y),
      leaverHad,
    )
    assert.deepEqual(b.owned(), [])

    await Promise.all([a.leave(), c.leave(), d.leave()])
    await s.recorder.until(() => s.recorder.owners.size === 0)
    assert.deepEqual(s.recorder.violations, [])
  })

  test('a killed node’s shards are taken only once its lease ran out, and it rejoins cleanly', async () => {
    const s = await scene()
    const [a, b] = await Promise.all([s.join('node-a'), s.join('node-b')])
    let victim = await spawnMember(s, 'node-c')
    await s.settled(['node-a', 'node-b', 'node-c'])
    assert.ok(owned(s.recorder, 'node-c').length > 0)

    const exited = new Promise((r) => victim.once('exit', r))
    victim.kill('SIGKILL')
    await exited
    // Only now is the node surely gone: any earlier take-over of its shards shows up as a violation.
    await s.recorder.record({ ev: 'crash', node: 'node-c' })
    await s.settled(['node-a', 'node-b'])

    victim = await spawnMember(s, 'node-c')
    await s.settled(['node-a', 'node-b', 'node-c'])
    const left = new Promise((r) => victim.once('exit', r))
    victim.kill('SIGTERM')
    await left
    await s.settled(['node-a', 'node-b'])
    await Promise.all([a.leave(), b.leave()])
    assert.deepEqual(s.recorder.violations, [])
  })

  test('a node cut off from NATS stops acting for its shards before another node takes them', async () => {
    const s = await scene()
    const proxy = await tcpProxy(new URL(servers.replace('nats://', 'tcp://')))
    cleanups.push(() => proxy.close())
    const [a, b] = await Promise.all([s.join('node-a'), s.join('node-b')])
    const cutNc = await connect({ servers: `nats://127.0.0.1:${proxy.port}` })
    const c = await s.join('node-c', cutNc)
    await s.settled(['node-a', 'node-b', 'node-c'])
    const had = owned(s.recorder, 'node-c')

    // Packets stop, the socket stays open: the node cannot tell a partition from a slow server.
    proxy.cut()
    await s.settled(['node-a', 'node-b'])
    const lost = s.recorder.events.filter(
      (e) => e.ev === 'release' && e.node === 'node-c' && e.reason === 'lost',
    )
    assert.equal(lost.length, had.length, 'every shard of the cut-off node ended by its own deadline')
    assert.deepEqual(c.owned(), [])
    await cutNc.close()
    await Promise.all([a.leave(), b.leave()])
    assert.deepEqual(s.recorder.violations, [])
  })

  test('a node whose lease time differs from the cluster’s is refused', async () => {
    const s = await scene()
    const a = await s.join('node-a')
    const nc = await connect({ servers })
    cleanups.push(() => nc.close())
    await assert.rejects(
      ClusterMember.join({
        connection: nc,
        cluster: s.cluster,
        nodeId: 'node-b',
        shardCount: S,
        leaseMs: LEASE_MS * 2,
        onAcquire: async () => undefined,
        onRelease: async () => undefined,
      }),
      (e: unknown) =>
        e instanceof RuntimeError &&
        e.code === 'RT_ERR_CLUSTER_LEASE_MISMATCH' &&
        e.message.includes(`${LEASE_MS}`),
    )
    await a.leave()
  })
})

/** A TCP relay to the NATS server whose traffic can be stopped without closing either socket. */
async function tcpProxy(target: URL): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
  const sockets: Socket[] = []
  let isCut = false
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port), target.hostname)
    sockets.push(client, upstream)
    client.on('data', (d) => !isCut && upstream.write(d))
    upstream.on('data', (d) => !isCut && client.write(d))
    for (const [x, y] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      x.on('error', () => y.destroy())
      x.on('close', () => y.destroy())
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const address = server.address()
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    cut: () => {
      isCut = true
    },
    close: async () => {
      for (const sock of sockets) sock.destroy()
      await new Promise((r) => server.close(r))
    },
  }
}
