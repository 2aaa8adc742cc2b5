import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { DELIVERY_GAP_MS } from '../src/host/pool.ts'
import type { WorkerTask } from '../src/host/types.ts'
import {
  type DeadLetter,
  encodeEnvelopes,
  InProcessTransport,
  MemoryRuntimeStore,
  RuntimeHost,
  type RuntimeHostOptions,
  type ShardId,
  shardOf,
} from '../src/index.ts'
import { RecordingSink, waitFor } from './helpers.ts'

const SHARDS = 8
const workerFile = new URL('./fixtures/counter-worker.ts', import.meta.url)

/** A host of the counter worker over an in-memory transport and a recording sink; not started yet. */
async function counterHost(options: Partial<RuntimeHostOptions> = {}) {
  const transport = await InProcessTransport.open()
  const sink = new RecordingSink()
  const host = new RuntimeHost({
    transport,
    sink,
    workerFile,
    shardCount: SHARDS,
    threads: 2,
    flushIntervalMs: 50,
    ...options,
  })
  return { transport, sink, host }
}

const dirs: string[] = []
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

async function publishCounts(
  t: InProcessTransport,
  keys: string[],
  perKey: number,
  tag: string,
): Promise<void> {
  // Several messages per stream message, grouped per shard, like the gateway does.
  for (let n = 0; n < perKey; n++) {
    const byShard = new Map<ShardId, Array<readonly [string, string, unknown]>>()
    for (const key of keys) {
      const shard = shardOf('counter', key, SHARDS)
      const list = byShard.get(shard) ?? []
      list.push(['counter', key, { add: 1, n }])
      byShard.set(shard, list)
    }
    await Promise.all([...byShard].map(([s, env]) => t.publish(s, encodeEnvelopes(env), `${tag}:${n}:${s}`)))
  }
}

describe('runtime host', () => {
  test('every published message is applied once, in order per actor, and flushed to the sink', async () => {
    const dead: DeadLetter[] = []
    const { transport, sink, host } = await counterHost({ onDeadLetter: (l) => dead.push(l) })
    await host.start()
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
    await publishCounts(transport, keys, 100, 'a')
    // Retries of the same batch ids must not count again.
    await publishCounts(transport, keys, 100, 'a')
    await waitFor(() => host.stats().applied === 4000)
    await host.stop()
    await transport.close()
    assert.deepEqual(dead, [])
    for (const k of keys) assert.equal(sink.totals.get(k), 100, k)
  })

  test('a busy worker gets a delivery task at most every DELIVERY_GAP_MS, with every part handed in meanwhile', async () => {
    const { transport, sink, host } = await counterHost()
    // Each delivery task as it leaves: when, to which worker slot, with how many shard parts.
    const sent: Array<{ at: number; slot: number; parts: number }> = []
    const run = host.pool.run.bind(host.pool)
    host.pool.run = ((task: WorkerTask, transfer?: ArrayBuffer[]) => {
      if (task.kind === 'deliver')
        sent.push({ at: performance.now(), slot: host.pool.slotOf(task.shard), parts: task.parts.length })
      return run(task, transfer)
    }) as typeof host.pool.run
    await host.start()
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`)
    await publishCounts(transport, keys, 100, 'gap')
    await waitFor(() => host.stats().applied === 4000)
    await host.stop()
    await transport.close()
    for (const k of keys) assert.equal(sink.totals.get(k), 100, k)
    for (const slot of [0, 1]) {
      const times = sent.filter((s) => s.slot === slot).map((s) => s.at)
      // Taken here, a task's time is after its parts were packed, a little later than the pool's own.
      for (let i = 1; i < times.length; i++)
        assert.ok(
          times[i]! - times[i - 1]! >= DELIVERY_GAP_MS - 1,
          `slot ${slot}: ${times[i]! - times[i - 1]!} ms`,
        )
    }
    // 800 stream messages over 8 shards: tasks carried several shards' parts at once.
    assert.ok(sent.some((s) => s.parts > 1))
  })

  test("the workers' drain encoder sees what the host shares, from the next flush on", async () => {
    const { transport, sink, host } = await counterHost({
      workerFile: new URL('./fixtures/scaled-worker.ts', import.meta.url),
      flushIntervalMs: 60_000,
    })
    host.share('scale', 10)
    await host.start()
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`)
    await publishCounts(transport, keys, 3, 'a')
    await waitFor(() => host.stats().applied === 36)
    assert.ok(await host.flushNow())
    for (const k of keys) assert.equal(sink.totals.get(k), 30, k)
    // A change reaches every worker before its next flush encodes anything.
    host.share('scale', 1000)
    const later = keys.map((k) => `later-${k}`)
    await publishCounts(transport, later, 2, 'b')
    await waitFor(() => host.stats().applied === 60)
    assert.ok(await host.flushNow())
    await host.stop()
    await transport.close()
    for (const k of keys) assert.equal(sink.totals.get(k), 30, k)
    for (const k of later) assert.equal(sink.totals.get(k), 2000, k)
  })

  test('a restart applies what was committed and not written, and replays nothing twice', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hm-host-'))
    dirs.push(dir)
    const sink = new RecordingSink()
    // Outlives the hosts, like ClickHouse: the journal of committed flushes and the applied positions.
    const store = new MemoryRuntimeStore()
    const keys = ['a', 'b', 'c', 'd', 'e']
    const run = async (tag: string, applies: number, before?: (host: RuntimeHost) => void): Promise<void> => {
      const transport = await InProcessTransport.open({ dir })
      const host = new RuntimeHost({
        transport,
        sink,
        store,
        workerFile,
        shardCount: SHARDS,
        threads: 2,
        flushIntervalMs: 20,
        onError: () => {},
      })
      await host.start()
      before?.(host)
      await publishCounts(transport, keys, 30, tag)
      await waitFor(() => host.stats().applied === applies)
      await host.stop()
      await transport.close()
      assert.equal(host.stats().applied, applies)
    }
    await run('first', keys.length * 30)
    for (const k of keys) assert.equal(sink.totals.get(k), 30, k)
    // The sink is down during the second run: its flushes are committed (so acknowledged) but not written.
    await run('second', keys.length * 30, () => {
      sink.failNext = 1_000_000
    })
    for (const k of keys) assert.equal(sink.totals.get(k), 30, k)
    assert.ok((await store.pending()).length > 0, 'committed, not applied')
    sink.failNext = 0
    // The acknowledgement floors are lost too: the transport replays from the start. The host applies the
    // committed flushes first, then skips every message their positions cover: of the whole stream, it
    // applies only the third run's messages (which come after all the others on each shard).
    await rm(join(dir, 'acks.json'))
    await run('third', keys.length * 30)
    for (const k of keys) assert.equal(sink.totals.get(k), 90, k)
    assert.deepEqual(await store.pending(), [])
  })

  test('a sink failure keeps the drained records and writes them at the next interval', async () => {
    const errors: string[] = []
    const { transport, sink, host } = await counterHost({
      flushIntervalMs: 10,
      onError: (_e, where) => errors.push(where),
    })
    sink.failNext = 3
    await host.start()
    await publishCounts(transport, ['x', 'y'], 50, 'f')
    await waitFor(
      () => sink.failNext === 0 && host.stats().unwrittenBatches === 0 && host.stats().applied === 100,
    )
    await host.stop()
    await transport.close()
    assert.equal(sink.totals.get('x'), 50)
    assert.equal(sink.totals.get('y'), 50)
    assert.ok(errors.some((w) => w.startsWith('flush apply')))
  })

  test('a throwing handler becomes a dead letter; the worker and other actors go on', async () => {
    const dead: DeadLetter[] = []
    const { transport, sink, host } = await counterHost({
      flushIntervalMs: 10,
      onDeadLetter: (l) => dead.push(l),
    })
    await host.start()
    const shard = shardOf('counter', 'bad', SHARDS)
    await transport.publish(shard, encodeEnvelopes([['counter', 'bad', { add: -1 }]]), 'bad-1')
    await publishCounts(transport, ['good', 'bad'], 5, 'g')
    await waitFor(() => host.stats().applied === 10)
    await host.stop()
    await transport.close()
    assert.equal(dead.length, 1)
    assert.equal(dead[0]!.key, 'bad')
    assert.match(dead[0]!.reason, /negative add/)
    assert.equal(sink.totals.get('good'), 5)
    assert.equal(sink.totals.get('bad'), 5)
  })

  test('a shard handed to another host with a flush, or lost without one, is applied exactly once', async () => {
    const transport = await InProcessTransport.open()
    const sink = new RecordingSink()
    const store = new MemoryRuntimeStore()
    const keys = Array.from({ length: 16 }, (_, i) => `h${i}`)
    const all = Array.from({ length: SHARDS }, (_, i) => i as ShardId)
    const host = (flushIntervalMs: number): RuntimeHost =>
      new RuntimeHost({
        transport,
        sink,
        store,
        workerFile,
        shardCount: SHARDS,
        threads: 2,
        flushIntervalMs,
        shards: [],
      })
    const first = host(20)
    await first.start()
    for (const s of all) await first.addShard(s)
    assert.equal(first.stats().shards, SHARDS)
    await publishCounts(transport, keys, 30, 'one')
    await waitFor(() => first.stats().applied === keys.length * 30)
    // A graceful handoff: everything written before the shard is let go.
    for (const s of all) assert.equal(await first.removeShard(s, { flush: true }), true)
    assert.equal(first.stats().shards, 0)
    for (const k of keys) assert.equal(sink.totals.get(k), 30, k)

    // The next owner never flushes on its own, and loses the shards: nothing of it is written.
    const second = host(3_600_000)
    await second.start()
    for (const s of all) await second.addShard(s)
    await publishCounts(transport, keys, 30, 'two')
    await waitFor(() => second.stats().applied === keys.length * 30)
    for (const s of all) assert.equal(await second.removeShard(s, { flush: false }), false)
    for (const k of keys) assert.equal(sink.totals.get(k), 30, k)

    // The shards come back to the first host: it replays what the second applied and never wrote.
    for (const s of all) await first.addShard(s)
    await waitFor(() => first.stats().applied === keys.length * 60)
    await first.flushNow()
    for (const k of keys) assert.equal(sink.totals.get(k), 60, k)
    await first.stop()
    await second.stop()
    await transport.close()
  })
})
