import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import {
  type DeadLetter,
  encodeEnvelopes,
  InProcessTransport,
  MemoryRuntimeStore,
  RuntimeError,
  RuntimeHost,
  type RuntimeHostOptions,
  type RuntimeStore,
  shardOf,
} from '../src/index.ts'
import type { ProbeMessage } from './fixtures/probe-actors.ts'
import { RecordingSink, waitFor } from './helpers.ts'

const SHARDS = 8
const workerFile = new URL('./fixtures/probe-worker.ts', import.meta.url)
const dirs: string[] = []
const open: Rig[] = []
after(async () => {
  // A failed test leaves its host running: stop them all so the file ends.
  for (const r of open) await r.close()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'hm-actors-'))
  dirs.push(d)
  return d
}

interface Rig {
  host: RuntimeHost
  transport: InProcessTransport
  sink: RecordingSink
  store: RuntimeStore
  dead: DeadLetter[]
  errors: string[]
  send(key: string, ...messages: ProbeMessage[]): Promise<void>
  close(): Promise<void>
}

let sent = 0
async function rig(
  options: Partial<RuntimeHostOptions> & { dir?: string; sink?: RecordingSink } = {},
): Promise<Rig> {
  const transport = await InProcessTransport.open(options.dir !== undefined ? { dir: options.dir } : {})
  const sink = options.sink ?? new RecordingSink()
  const store = options.store ?? new MemoryRuntimeStore()
  const dead: DeadLetter[] = []
  const errors: string[] = []
  const host = new RuntimeHost({
    transport,
    sink,
    store,
    workerFile,
    shardCount: SHARDS,
    threads: 2,
    flushIntervalMs: 30,
    onDeadLetter: (l) => dead.push(l),
    onError: (_e, where) => errors.push(where),
    ...options,
  })
  await host.start()
  let closed = false
  const r: Rig = {
    host,
    transport,
    sink,
    store,
    dead,
    errors,
    send: async (key, ...messages) => {
      const shard = shardOf('probe', key, SHARDS)
      await transport.publish(shard, encodeEnvelopes(messages.map((m) => ['probe', key, m])), `m${sent++}`)
    },
    close: async () => {
      if (closed) return
      closed = true
      await host.stop()
      await transport.close()
    },
  }
  open.push(r)
  return r
}

const totalOf = async (r: Rig, key: string): Promise<number> =>
  (await r.host.ask<{ total: number }>('probe', key, {})).total

describe('actor semantics', () => {
  test('concurrent first messages to one actor make one activation', async () => {
    const r = await rig()
    await Promise.all(Array.from({ length: 200 }, () => r.send('one', { add: 1 })))
    await waitFor(async () => (await totalOf(r, 'one')) === 200)
    const stats = await r.host.workerStats()
    assert.equal(
      stats.reduce((n, s) => n + s.activations, 0),
      1,
    )
    assert.equal((await r.host.listActors()).filter((a) => a.key === 'one').length, 1)
    assert.equal(
      stats.reduce((n, s) => n + s.shards, 0),
      r.host.shards().length,
      'every shard of the node is counted on its worker, whether a message of it arrived or not',
    )
    await r.close()
    assert.equal(r.sink.totals.get('one'), 200)
  })

  test('passivate → reactivate keeps the durable state', async () => {
    const r = await rig()
    await r.send('p', { add: 5 }, { add: 6 })
    await waitFor(async () => (await totalOf(r, 'p')) === 11)
    assert.equal(await r.host.passivate('probe', 'p'), true)
    assert.equal(await r.host.inspect('probe', 'p'), undefined, 'no longer active')
    await r.host.flushNow()
    await r.send('p', { add: 1 })
    await waitFor(async () => (await totalOf(r, 'p')) === 12)
    // The actor asked for it itself, too.
    await r.send('p', { passivate: true })
    await waitFor(async () => (await r.host.inspect('probe', 'p')) === undefined)
    assert.equal(await totalOf(r, 'p'), 12)
    await r.close()
    assert.equal(r.sink.totals.get('p'), 12, 'drained deltas are not lost by passivation')
  })

  test('an actor whose snapshot left its worker and is not written yet is restored from the host', async () => {
    const r = await rig()
    await r.send('q', { add: 7 })
    await waitFor(async () => (await totalOf(r, 'q')) === 7)
    assert.equal(await r.host.passivate('probe', 'q'), true)
    // The flush takes the snapshot out of the worker and commits it; writing it fails, so only the host
    // has it (neither the worker nor the store).
    r.sink.failNext = 1_000_000
    assert.equal(await r.host.flushNow(), false)
    await r.send('q', { add: 1 })
    await waitFor(async () => (await totalOf(r, 'q')) === 8)
    r.sink.failNext = 0
    await r.close()
    assert.equal(r.sink.totals.get('q'), 8)
  })

  test('a new actor costs no snapshot lookup; after a restart a snapshotted one is restored', async () => {
    class ObservedStore extends MemoryRuntimeStore {
      readonly asked: string[] = []
      override async loadSnapshots(refs: Parameters<MemoryRuntimeStore['loadSnapshots']>[0]) {
        this.asked.push(...refs.map((r) => r.key))
        return super.loadSnapshots(refs)
      }
    }
    const store = new ObservedStore()
    const dir = await tempDir()
    const first = await rig({ store, dir })
    for (let i = 0; i < 20; i++) await first.send(`new${i}`, { add: i + 1 })
    await waitFor(async () => (await totalOf(first, 'new19')) === 20)
    await first.close()
    assert.deepEqual(store.asked, [], 'never snapshotted: nothing to look up')
    const second = await rig({ store, dir })
    await second.send('new3', { add: 10 })
    await second.send('other', { add: 1 })
    await waitFor(async () => (await totalOf(second, 'new3')) === 14)
    assert.equal(await totalOf(second, 'other'), 1)
    assert.deepEqual(store.asked, ['new3'], 'only the actor with a stored snapshot is looked up')
    await second.close()
  })

  test('idle activations and those past the per-worker cap are passivated, state kept', async () => {
    const r = await rig({ idlePassivateMs: 200, maxActorsPerWorker: 5 })
    for (let i = 0; i < 30; i++) await r.send(`k${i}`, { add: i })
    const activations = async () => (await r.host.workerStats()).reduce((n, s) => n + s.activations, 0)
    await waitFor(async () => (await activations()) === 30)
    assert.ok(
      (await r.host.workerStats()).every((s) => s.activeActors <= 5),
      'the cap holds',
    )
    await waitFor(async () => (await r.host.workerStats()).every((s) => s.activeActors === 0))
    assert.ok((await r.host.workerStats()).reduce((n, s) => n + s.passivations, 0) >= 30)
    for (let i = 0; i < 30; i++) assert.equal(await totalOf(r, `k${i}`), i)
    await r.close()
  })

  test('timers fire a message back to the actor', async () => {
    const r = await rig()
    await r.send('t', { setTimer: 30 })
    await waitFor(async () => (await r.host.ask<{ ticks: number }>('probe', 't', {})).ticks === 1)
    await r.close()
  })

  test('reminders survive a restart of the node', async () => {
    const store = new MemoryRuntimeStore()
    const sink = new RecordingSink()
    const dir = await tempDir()
    const first = await rig({ store, sink, dir })
    await first.send('r', { remind: 'wake', inMs: 700 })
    await waitFor(async () => (await store.loadReminders([shardOf('probe', 'r', SHARDS)])).length === 1)
    await first.close()
    const second = await rig({ store, sink, dir })
    await waitFor(
      async () => (await second.host.ask<{ reminded: string[] }>('probe', 'r', {})).reminded.length === 1,
    )
    assert.deepEqual((await second.host.ask<{ reminded: string[] }>('probe', 'r', {})).reminded, ['wake'])
    // Fired once: after the next flush it is gone from the store.
    await second.host.flushNow()
    assert.deepEqual(await store.loadReminders([shardOf('probe', 'r', SHARDS)]), [])
    await second.close()
  })

  test('a fired reminder whose cancellation could not be stored is cancelled at the next write', async () => {
    class FlakyStore extends MemoryRuntimeStore {
      failing = false
      override async save(changes: Parameters<MemoryRuntimeStore['save']>[0]) {
        if (this.failing) throw new Error('store unavailable')
        return super.save(changes)
      }
    }
    const store = new FlakyStore()
    const r = await rig({ store })
    const shard = shardOf('probe', 'f', SHARDS)
    await r.send('f', { remind: 'once', inMs: 300 })
    await waitFor(async () => (await store.loadReminders([shard])).length === 1)
    store.failing = true
    await waitFor(
      async () => (await r.host.ask<{ reminded: string[] }>('probe', 'f', {})).reminded.length === 1,
    )
    await r.host.flushNow()
    assert.equal((await store.loadReminders([shard])).length, 1, 'the failed write stored nothing')
    store.failing = false
    await r.host.flushNow()
    assert.deepEqual(await store.loadReminders([shard]), [], 'the cancellation went with the next write')
    await r.close()
  })

  test('a throwing handler is isolated: dead letter, restart from the last snapshot, no effect lost or doubled', async () => {
    const r = await rig()
    await r.send('x', { add: 10 })
    await r.send('y', { add: 1 })
    await waitFor(async () => (await totalOf(r, 'x')) === 10)
    await r.host.flushNow()
    // In one stream message: an add before the failure, the failure, an add after it.
    await r.send('x', { add: 3 }, { fail: true }, { add: 4 })
    await r.send('x', { add: 100 })
    await waitFor(async () => (await totalOf(r, 'x')) === 117)
    assert.equal(r.dead.length, 1)
    assert.match(r.dead[0]!.reason, /asked to fail/)
    assert.equal(r.dead[0]!.index, 1)
    assert.equal(await totalOf(r, 'y'), 1, 'a neighbour on another shard or the same worker is untouched')
    await r.close()
    assert.equal(r.sink.totals.get('x'), 117)
    assert.equal((await r.store.deadLetters(10)).length, 1, 'the dead letter is recorded in the store')
  })

  test('a killed worker loses no accepted message: its shards replay from their durable positions', async () => {
    const dir = await tempDir()
    const marker = join(dir, 'crashed')
    const r = await rig()
    for (let i = 0; i < 50; i++) await r.send(`w${i % 5}`, { add: 1 })
    await waitFor(async () => (await totalOf(r, 'w0')) === 10)
    await r.send('w0', { crashOnce: marker })
    for (let i = 0; i < 50; i++) await r.send(`w${i % 5}`, { add: 1 })
    // An ask that lands on the dying worker fails with it; the next one reaches its replacement.
    const settled = (key: string) => totalOf(r, key).catch(() => -1)
    for (let i = 0; i < 5; i++) await waitFor(async () => (await settled(`w${i}`)) === 20)
    await r.close()
    for (let i = 0; i < 5; i++) assert.equal(r.sink.totals.get(`w${i}`), 20, `w${i}`)
    assert.ok(
      r.errors.some((e) => e === 'worker' || e.startsWith('deliver')),
      'the worker loss was reported',
    )
  })

  test('a flood against a slow actor keeps memory bounded and loses nothing accepted', async () => {
    const transportCap = 64 * 1024
    const transport = await InProcessTransport.open({ maxPendingBytes: transportCap })
    const sink = new RecordingSink()
    const host = new RuntimeHost({
      transport,
      sink,
      workerFile,
      shardCount: SHARDS,
      threads: 2,
      flushIntervalMs: 30,
      maxBatch: 16,
      onError: () => {},
    })
    await host.start()
    const shard = shardOf('probe', 'slow', SHARDS)
    let accepted = 0
    let refused = 0
    let maxHeld = 0
    let maxMailbox = 0
    for (let i = 0; i < 3000; i++) {
      const payload = encodeEnvelopes([
        ['probe', 'slow', { slowMs: 1 }],
        ['probe', 'slow', { add: 1 }],
      ])
      try {
        await transport.publish(shard, payload, `f${i}`)
        accepted++
      } catch (e) {
        assert.ok(e instanceof RuntimeError && e.code === 'RT_ERR_TRANSPORT_FULL')
        refused++
        await new Promise((res) => setTimeout(res, 1))
      }
      maxHeld = Math.max(maxHeld, transport.heldBytes)
      maxMailbox = Math.max(maxMailbox, host.stats().mailboxDepth)
    }
    await waitFor(
      async () => (await host.ask<{ total: number }>('probe', 'slow', {})).total === accepted,
      60_000,
    )
    await host.stop()
    await transport.close()
    assert.ok(refused > 0, 'the producer was slowed down')
    assert.ok(maxHeld <= transportCap, `held ${maxHeld} bytes`)
    assert.ok(maxMailbox <= 16, `mailbox ${maxMailbox}`)
    assert.equal(sink.totals.get('slow'), accepted)
  })

  test('live publishes reach watchers only while someone watches', async () => {
    const r = await rig()
    const seen: unknown[] = []
    await r.send('live', { add: 1 })
    await waitFor(async () => (await totalOf(r, 'live')) === 1)
    const stop = r.host.watch('probe/live', (p) => seen.push(p))
    await stop.ready
    await r.send('live', { add: 2 })
    await waitFor(() => seen.length === 1)
    assert.deepEqual(seen, [{ total: 3 }])
    stop()
    await new Promise((res) => setTimeout(res, 50))
    await r.send('live', { add: 3 })
    await waitFor(async () => (await totalOf(r, 'live')) === 6)
    assert.equal(seen.length, 1)
    await r.close()
  })

  test('metrics per actor type count activations, turns, handler times and dead letters', async () => {
    const r = await rig()
    for (let i = 0; i < 40; i++) await r.send(`m${i % 4}`, { add: 1 })
    await r.send('m0', { fail: true })
    // The failure reset its shard: its actors come back as the shard replays from its durable position
    // (an ask during the replay may see less), every one with all ten messages, none applied twice.
    await waitFor(async () => {
      const totals = await Promise.all([0, 1, 2, 3].map((i) => totalOf(r, `m${i}`)))
      return r.dead.length === 1 && totals.every((t) => t === 10)
    })
    for (let i = 0; i < 4; i++) assert.equal(await totalOf(r, `m${i}`), 10)
    const m = await r.host.metrics()
    const probe = m.byType.probe!
    assert.equal(probe.active, 4)
    // The failure restarts the actors of its shard (a replay), so some were activated twice.
    assert.ok(probe.activations >= 4 && probe.activations <= 8, `activations ${probe.activations}`)
    assert.ok(probe.turns >= 41)
    assert.equal(probe.deadLetters, 1)
    assert.equal(probe.handler.buckets.length, m.handlerBuckets.length + 1)
    assert.equal(
      probe.handler.buckets.reduce((a, b) => a + b, 0),
      probe.handler.count,
    )
    // One turn in eight is timed, counted per worker (two here): each may be up to seven short of a multiple.
    const sampled = probe.turns / 8
    assert.ok(
      probe.handler.count >= Math.floor(sampled) - 1 && probe.handler.count <= Math.ceil(sampled),
      `${probe.handler.count} timed of ${probe.turns} turns`,
    )
    await r.close()
  })

  test('ask times out with RT_ERR_ASK_TIMEOUT when the actor is busy', async () => {
    const r = await rig({ askTimeoutMs: 50 })
    await r.send('busy', { slowMs: 400 })
    await new Promise((res) => setTimeout(res, 30))
    await assert.rejects(
      r.host.ask('probe', 'busy', {}),
      (e: unknown) => e instanceof RuntimeError && e.code === 'RT_ERR_ASK_TIMEOUT',
    )
    await r.close()
    await assert.rejects(
      r.host.ask('probe', 'busy', {}),
      (e: unknown) => e instanceof RuntimeError && e.code === 'RT_ERR_HOST_STOPPED',
    )
  })
})
