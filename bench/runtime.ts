/**
 * Runtime benchmarks: messages/s across many actors and into one hot actor, activations/s and memory
 * per idle actor. Every figure is printed beside baselines measured in the same run:
 *   - raw Piscina tasks carrying the same batches (decode + sum, no actors),
 *   - a plain in-thread apply loop over a Map (no threads, no transport),
 *   - the same workload on XState v5 actors (`createActor`), in-thread (bench/peers/xstate.ts),
 *   - and on RivetKit actors behind the engine it runs locally (bench/peers/rivetkit.ts).
 */
import { availableParallelism } from 'node:os'
import {
  type Envelope,
  encodeEnvelopes,
  type FlushBatch,
  InProcessTransport,
  RuntimeHost,
  type ShardId,
  shardOf,
} from '@hm/runtime'
import { Packr } from 'msgpackr'
import { Piscina } from 'piscina'
import { type RivetkitReport, rivetkitPeer } from './peers/rivetkit.ts'
import { xstatePeer } from './peers/xstate.ts'

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2_000_000)
const ACTORS = Number(process.env.BENCH_ACTORS ?? 100_000)
const ACTIVATIONS = Number(process.env.BENCH_ACTIVATIONS ?? 200_000)
const PER_MESSAGE = 500
const RIVETKIT_ACTORS = Number(process.env.BENCH_RIVETKIT_ACTORS ?? 20)
const RIVETKIT_HOT_MESSAGES = Number(process.env.BENCH_RIVETKIT_HOT_MESSAGES ?? 100_000)
const SHARDS = 64
const THREADS = availableParallelism()
const workerFile = new URL('./fixtures/bench-actors.ts', import.meta.url)
const packr = new Packr({ useRecords: false })

interface Workload {
  /** Stream messages per shard, each `PER_MESSAGE` envelopes. */
  byShard: Map<ShardId, Uint8Array[]>
  messages: number
}

function workload(keys: (i: number) => string, count: number): Workload {
  const pending = new Map<ShardId, Envelope[]>()
  const byShard = new Map<ShardId, Uint8Array[]>()
  const push = (s: ShardId, envs: Envelope[]): void => {
    const list = byShard.get(s) ?? []
    list.push(encodeEnvelopes(envs))
    byShard.set(s, list)
  }
  for (let i = 0; i < count; i++) {
    const key = keys(i)
    const s = shardOf('bench', key, SHARDS)
    const envs = pending.get(s) ?? []
    envs.push(['bench', key, 1])
    if (envs.length === PER_MESSAGE) {
      push(s, envs)
      pending.set(s, [])
    } else pending.set(s, envs)
  }
  for (const [s, envs] of pending) if (envs.length > 0) push(s, envs)
  return { byShard, messages: count }
}

const sink = {
  positions: async () => new Map(),
  write: async (_: readonly FlushBatch[]) => {},
}

async function viaHost(
  w: Workload,
): Promise<{ perSecond: number; host: RuntimeHost; transport: InProcessTransport }> {
  const transport = await InProcessTransport.open({ maxPendingBytes: 2 ** 31 })
  const host = new RuntimeHost({
    transport,
    sink,
    workerFile,
    shardCount: SHARDS,
    threads: THREADS,
    flushIntervalMs: 1000,
    maxBatch: Number(process.env.BENCH_MAX_BATCH ?? 16),
    idlePassivateMs: 3_600_000,
    maxActorsPerWorker: 10_000_000,
    onError: (e) => console.error(e),
  })
  await host.start()
  const t0 = performance.now()
  let n = 0
  const published: Promise<unknown>[] = []
  for (const [s, payloads] of w.byShard)
    for (const p of payloads) published.push(transport.publish(s, p, `b${n++}`))
  await Promise.all(published)
  while (host.stats().applied < w.messages) await new Promise((r) => setTimeout(r, 1))
  const ms = performance.now() - t0
  return { perSecond: (w.messages / ms) * 1000, host, transport }
}

function concat(payloads: readonly Uint8Array[]): { data: Uint8Array; ends: number[] } {
  const data = new Uint8Array(payloads.reduce((n, p) => n + p.byteLength, 0))
  const ends: number[] = []
  let at = 0
  for (const p of payloads) {
    data.set(p, at)
    at += p.byteLength
    ends.push(at)
  }
  return { data, ends }
}

/** Starts a measurement on a collected heap (with --expose-gc): no one pays for the garbage of another. */
const collect = (): void => (globalThis as { gc?: () => void }).gc?.()

async function rawPiscina(w: Workload): Promise<number> {
  const pool = new Piscina({
    filename: new URL('./fixtures/raw-worker.ts', import.meta.url).href,
    minThreads: THREADS,
    maxThreads: THREADS,
  })
  // Warm every thread (start-up, loading, JIT) before timing, as the host's start() does.
  const warm = [...w.byShard.values()][0]!.slice(0, 1)
  await Promise.all(Array.from({ length: THREADS * 4 }, () => pool.run(concat(warm))))
  const t0 = performance.now()
  const tasks: Promise<number>[] = []
  for (const payloads of w.byShard.values()) {
    for (let i = 0; i < payloads.length; i += 16) {
      // As the host sends them: the payloads end to end in one buffer, transferred, not cloned.
      const { data, ends } = concat(payloads.slice(i, i + 16))
      tasks.push(pool.run({ data, ends }, { transferList: [data.buffer as ArrayBuffer] }))
    }
  }
  const sums = await Promise.all(tasks)
  const ms = performance.now() - t0
  await pool.destroy()
  if (sums.reduce((a, b) => a + b, 0) !== w.messages) throw new Error('raw baseline lost messages')
  void warm
  return (w.messages / ms) * 1000
}

function inThreadMap(w: Workload): number {
  const t0 = performance.now()
  const states = new Map<string, { n: number }>()
  for (const payloads of w.byShard.values()) {
    for (const p of payloads) {
      for (const [, key, m] of packr.unpack(p) as Array<[string, string, number]>) {
        let s = states.get(key)
        if (s === undefined) {
          s = { n: 0 }
          states.set(key, s)
        }
        s.n += m
      }
    }
  }
  return (w.messages / (performance.now() - t0)) * 1000
}

/** Two decimals, or two significant digits for a peer far below the baseline (0.00× would say nothing). */
const ratio = (r: number): string => (r >= 0.1 ? r.toFixed(2) : r.toPrecision(2))
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(12)
const line = (label: string, value: number, unit: string, base?: number): void =>
  console.log(`  ${label.padEnd(44)} ${fmt(value)} ${unit}${base ? `   ratio ${ratio(value / base)}×` : ''}`)

function rivetkitLine(report: RivetkitReport, which: 'hot' | 'distinct', raw: number): void {
  const label = 'peer: RivetKit actions, local engine'
  if (!report.ok) {
    console.log(`  ${label.padEnd(44)} not measured: ${report.error}`)
    return
  }
  const c = report[which]
  if ('error' in c) {
    console.log(`  ${label.padEnd(44)} not measured: ${c.error}`)
    return
  }
  if (c.counted !== c.messages) {
    console.log(
      `  ${label.padEnd(44)} not measured: counters hold ${c.counted} of ${c.messages} messages sent`,
    )
    return
  }
  line(label, c.perSecond, 'msg/s', raw)
  const scope =
    which === 'hot'
      ? `${c.messages.toLocaleString('en-US')} messages in ${c.calls.toLocaleString('en-US')} actions of ${PER_MESSAGE}`
      : `${RIVETKIT_ACTORS.toLocaleString('en-US')} actors, not ${ACTORS.toLocaleString('en-US')}: ${c.messages.toLocaleString('en-US')} messages, one action each`
  console.log(
    `    (RivetKit: ${scope}, counters verified; ${c.retried} calls re-sent after the engine timed out routing them)`,
  )
}

export async function runtimeBench(): Promise<void> {
  console.log(
    `runtime: ${MESSAGES.toLocaleString('en-US')} messages in stream messages of ${PER_MESSAGE}, ${SHARDS} shards, ${THREADS} worker threads`,
  )
  // RivetKit is slow enough here that it gets its own, smaller message counts (printed beside its figure).
  const rivet = await rivetkitPeer({
    hotMessages: RIVETKIT_HOT_MESSAGES,
    actors: RIVETKIT_ACTORS,
    perActor: Math.max(1, Math.round(MESSAGES / ACTORS)),
    batch: PER_MESSAGE,
    inFlight: 16,
  })
  for (const [label, keys, peer] of [
    [`across ${ACTORS.toLocaleString('en-US')} actors`, (i: number) => `a${i % ACTORS}`, 'distinct'],
    ['into one hot actor', () => 'hot', 'hot'],
  ] as const) {
    const w = workload(keys, MESSAGES)
    collect()
    const map = inThreadMap(w)
    collect()
    const raw = await rawPiscina(w)
    collect()
    const xs = xstatePeer(w.byShard.values(), w.messages, packr)
    collect()
    const { perSecond, host, transport } = await viaHost(w)
    await host.stop()
    await transport.close()
    console.log(` ${label}`)
    line('baseline: plain in-thread apply loop (Map)', map, 'msg/s')
    line('baseline: raw Piscina tasks, same batches', raw, 'msg/s')
    line('peer: XState v5 createActor, in-thread', xs, 'msg/s', raw)
    rivetkitLine(rivet, peer, raw)
    line('runtime: transport → host → actors', perSecond, 'msg/s', raw)
  }

  // Activations: one message to each of many new actors; then what each idle activation costs.
  const fresh = workload((i) => `new${i}`, ACTIVATIONS)
  collect()
  const { perSecond, host, transport } = await viaHost(fresh)
  const stats = await host.workerStats()
  const active = stats.reduce((n, s) => n + s.activeActors, 0)
  const heap = stats.reduce((n, s) => n + s.heapUsed, 0)
  const idle = await (async () => {
    // The same workers with nothing active: passivate everything by asking for it, then read the heap.
    const empty = await viaHost(workload(() => 'x', 1))
    const h = (await empty.host.workerStats()).reduce((n, s) => n + s.heapUsed, 0)
    await empty.host.stop()
    await empty.transport.close()
    return h
  })()
  await host.stop()
  await transport.close()
  console.log(` activations (${ACTIVATIONS.toLocaleString('en-US')} new actors, one message each)`)
  line('runtime: activations', perSecond, 'activations/s')
  line('memory per idle activated actor (heap delta)', (heap - idle) / Math.max(1, active), 'bytes')
  console.log('  (the memory figure is a heap delta without a forced GC: an upper bound, not exact)')
}
