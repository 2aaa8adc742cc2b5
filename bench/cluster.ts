/**
 * The cluster on this machine, end to end: `npm start` node processes sharing NATS JetStream, one chDB
 * served over the ClickHouse HTTP interface (`gateway/src/cluster-clickhouse-server.ts`), PostgreSQL and
 * Redis, as `gateway/test/cluster/` runs them.
 *
 * Throughput: one load generator (a child process, keep-alive fetch, fixed concurrency, batches of 50
 * clicks, spread round-robin over the gateways) drives
 *   - baseline: the embedded single process (`HM_NATS_URL` unset: in-process transport, chDB in process);
 *   - result: a cluster of 1 node, then of 2 nodes;
 * each until every accepted event is counted in ClickHouse (end to end).
 *
 * Shard hand-off: from the old owner's release to the new owner's acquisition, as both record them on the
 * ownership log (a JetStream subject: the times are when the server stored each record), when a second
 * node joins and when it leaves (SIGTERM). Baseline: the same records and the same lease hand-over (put,
 * delete, a watcher creating it again) between two bare NATS connections, one shard after the other.
 *
 * `node --import tsx bench/cluster.ts`. Knobs: BENCH_CLUSTER_MS (each load run, default 8000),
 * BENCH_CLUSTER_SHARDS (default 64), BENCH_CLUSTER_CYCLES (join and leave of the second node, default 1),
 * BENCH_CLUSTER_NATS (default nats://127.0.0.1:4222).
 */

import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOAD_SHAPE, type LoadResult, percentile, runLoad } from './load.ts'

const { batch: BATCH, pages: PAGES, concurrency: CONCURRENCY } = LOAD_SHAPE

const DURATION_MS = Number(process.env.BENCH_CLUSTER_MS ?? 8000)
const SHARDS = Number(process.env.BENCH_CLUSTER_SHARDS ?? 64)
const CYCLES = Number(process.env.BENCH_CLUSTER_CYCLES ?? 1)
const NATS = process.env.BENCH_CLUSTER_NATS ?? 'nats://127.0.0.1:4222'

await main()

async function main(): Promise<void> {
  // Loaded when run, not when this module is read.
  const { loadConfig } = await import('@hm/gateway')
  const { jetstream } = await import('@nats-io/jetstream')
  const { Kvm } = await import('@nats-io/kv')
  const { connect } = await import('@nats-io/transport-node')
  const { exited, startProcess } = await import('../gateway/test/helpers/process.ts')
  const { ClusterScene } = await import('../gateway/test/cluster/cluster-scene.ts')
  const { OwnershipRecorder } = await import('../runtime/test/cluster/ownership-recorder.ts')
  type Running = Awaited<ReturnType<typeof startProcess>>
  type Recorder = Awaited<ReturnType<typeof OwnershipRecorder.create>>

  /** Clicks counted in ClickHouse over the bench's pages, read through a gateway's query API. */
  const counted = async (via: Running): Promise<number> => {
    let total = 0
    for (let p = 0; p < PAGES; p += 10) {
      const totals = await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const r = await fetch(
            `${via.url}/v1/sites/${via.creds.siteId}/heatmap?page=/p/${p + i}&type=click`,
            { headers: { authorization: `Bearer ${via.creds.apiKey}` } },
          )
          if (r.status !== 200) throw new Error(`heatmap ${r.status}: ${await r.text()}`)
          return ((await r.json()) as { total: number }).total
        }),
      )
      total += totals.reduce((a, b) => a + b, 0)
    }
    return total
  }

  interface Throughput {
    accepted: number
    counted: number
    acceptedRate: number
    e2eRate: number
    r: LoadResult
  }
  /** Load through `gateways` (the first one's site key), then until ClickHouse counts what was accepted. */
  const throughput = async (gateways: Running[], via: Running): Promise<Throughput> => {
    const before = await counted(via)
    const t0 = performance.now()
    const r = await runLoad({
      urls: gateways.map((g) => `${g.url}/v1/events/collect`),
      siteKey: via.creds.siteKey,
      run: `r${Date.now()}`,
      durationMs: DURATION_MS,
    })
    const accepted = r.ok * BATCH
    let total = 0
    for (;;) {
      total = (await counted(via)) - before
      if (total >= accepted || performance.now() - t0 > DURATION_MS * 20) break
      await new Promise((res) => setTimeout(res, 200))
    }
    const seconds = (performance.now() - t0) / 1000
    return { accepted, counted: total, acceptedRate: accepted / (r.ms / 1000), e2eRate: total / seconds, r }
  }

  /** Release → acquire of each shard that changed hands among `events[from…]`, in ms. */
  const handoffs = (recorder: Recorder, from: number): number[] => {
    const released = new Map<number, { node: string; at: number }>()
    const out: number[] = []
    for (const e of recorder.events.slice(from)) {
      if (e.ev === 'release') released.set(e.shard, { node: e.node, at: e.at })
      else if (e.ev === 'acquire') {
        const r = released.get(e.shard)
        if (r !== undefined && r.node !== e.node) out.push(e.at - r.at)
        released.delete(e.shard)
      }
    }
    return out
  }
  const placed = (recorder: Recorder, owners: Array<string | undefined>): Promise<void> =>
    recorder.until(() => owners.every((n, s) => recorder.owners.get(s) === n))

  const defaults = loadConfig({})
  // Every process runs on the product's defaults, limits off (one generator is one client address).
  const common = {
    HM_SHARDS: String(SHARDS),
    HM_THREADS: String(defaults.HM_THREADS),
    HM_FLUSH_INTERVAL_MS: String(defaults.HM_FLUSH_INTERVAL_MS),
    HM_RATE_LIMIT_PER_IP: '0',
    HM_RATE_LIMIT_PER_SITE: '0',
    HM_LOG_LEVEL: 'error',
  }
  const failures: string[] = []
  const check = (name: string, t: Throughput): void => {
    if (t.counted !== t.accepted) failures.push(`${name}: ${t.accepted} accepted, ${t.counted} counted`)
  }

  // Baseline: the embedded single process.
  const dir = await mkdtemp(join(tmpdir(), 'hm-bench-cluster-'))
  const embedded = await startProcess(join(dir, 'embedded'), common)
  const base = await throughput([embedded], embedded)
  check('embedded', base)
  embedded.child.kill('SIGTERM')
  await exited(embedded.child)

  // The cluster: one node, then two; the second joins and leaves.
  const scene = await ClusterScene.create({
    natsUrl: NATS,
    shards: SHARDS,
    tag: 'b',
    env: { ...common, HM_LEASE_MS: String(defaults.HM_LEASE_MS) },
  })
  const { placeShards } = await import('@hm/runtime')
  const joins: number[] = []
  const leaves: number[] = []
  let one: Throughput
  let two: Throughput | undefined
  try {
    const n1 = await scene.start('b1')
    await scene.settled([n1])
    await placed(scene.recorder, placeShards(SHARDS, ['b1']))
    one = await throughput([n1], n1)
    check('1 node', one)
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      let mark = scene.recorder.events.length
      const n2 = await scene.start('b2')
      await scene.settled([n1, n2])
      await placed(scene.recorder, placeShards(SHARDS, ['b1', 'b2']))
      joins.push(...handoffs(scene.recorder, mark))
      if (cycle === 0) {
        two = await throughput([n1, n2], n1)
        check('2 nodes', two)
      }
      mark = scene.recorder.events.length
      n2.child.kill('SIGTERM')
      await exited(n2.child)
      await scene.settled([n1])
      await placed(scene.recorder, placeShards(SHARDS, ['b1']))
      leaves.push(...handoffs(scene.recorder, mark))
    }
    n1.child.kill('SIGTERM')
    await exited(n1.child)
  } catch (e) {
    console.error(scene.outputs())
    throw e
  } finally {
    await scene.destroy()
  }

  // Baseline of the hand-off: the same records and lease moves between two bare connections.
  const moved = Math.max(1, Math.round(joins.length / CYCLES))
  const bare = await bareHandoffs(moved)
  await rm(dir, { recursive: true, force: true })

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
  const ms = (n: number) => `${n.toFixed(1).padStart(7)} ms`
  const rate = (name: string, t: Throughput, baseline?: Throughput) =>
    `  ${name.padEnd(52)}${fmt(t.acceptedRate).padStart(7)} events/s accepted  ${fmt(t.e2eRate).padStart(7)} events/s end to end   p50 ${percentile(t.r.latencies, 50).toFixed(1)} ms   p99 ${percentile(t.r.latencies, 99).toFixed(1)} ms${
      baseline ? `   ratio ${(t.e2eRate / baseline.e2eRate).toFixed(2)}× end to end` : ''
    }${Object.keys(t.r.failed).length > 0 ? `   failed ${JSON.stringify(t.r.failed)}` : ''}`
  const spread = (name: string, xs: number[], baseline?: number[]) =>
    `  ${name.padEnd(52)}${String(xs.length).padStart(3)} shards   p50 ${ms(percentile(xs, 50))}   p99 ${ms(percentile(xs, 99))}${
      baseline
        ? `   ratio p50 ${(percentile(xs, 50) / percentile(baseline, 50)).toFixed(1)}×  p99 ${(percentile(xs, 99) / percentile(baseline, 99)).toFixed(1)}×`
        : ''
    }`

  console.log(
    `cluster on one machine (${availableParallelism()} cores: the nodes, chDB over HTTP, the generator and NATS share them), ${SHARDS} shards, batches of ${BATCH} clicks, ${CONCURRENCY} concurrent requests, ${DURATION_MS / 1000} s each`,
  )
  console.log(rate('baseline  embedded, one process (no NATS)', base))
  console.log(rate('result    1 node (NATS, chDB over HTTP)', one, base))
  if (two) console.log(rate('result    2 nodes, requests round-robin', two, base))
  console.log('shard hand-off, release → acquire on the ownership log (times the server stored them)')
  console.log(spread('baseline  bare KV hand-over, one at a time', bare))
  console.log(spread('result    a second node joins', joins, bare))
  console.log(spread('result    the second node leaves (SIGTERM)', leaves, bare))
  if (failures.length > 0) {
    console.error(`bench: accepted events not counted exactly: ${failures.join('; ')}`)
    process.exitCode = 1
  }

  /**
   * `count` leases handed from one bare connection to another, one after the other, recorded like the
   * nodes do: the holder records the release and deletes the key; the other, watching, creates it and
   * records the acquisition. The floor of one hand-over: no host, no other shard in the way.
   */
  async function bareHandoffs(count: number): Promise<number[]> {
    const run = `${Date.now().toString(36)}`
    const a = await connect({ servers: NATS })
    const b = await connect({ servers: NATS })
    const recorder = await OwnershipRecorder.create(a, `HM_BENCH_OWN_${run}`, `hmbench.own.${run}`)
    const leasesA = await new Kvm(a).create(`hmbench_${run}`, { history: 1, ttl: defaults.HM_LEASE_MS })
    const leasesB = await new Kvm(b).open(`hmbench_${run}`)
    const jsB = jetstream(b)
    const watch = await leasesB.watch()
    try {
      void (async () => {
        for await (const e of watch) {
          if (e.operation !== 'DEL') continue
          await leasesB.create(e.key, '{"node":"b"}')
          const shard = Number(e.key.slice('shard.'.length))
          await jsB.publish(recorder.subject, JSON.stringify({ ev: 'acquire', node: 'b', shard }))
        }
      })()
      for (let s = 0; s < count; s++) {
        const revision = await leasesA.create(`shard.${s}`, '{"node":"a"}')
        await recorder.record({ ev: 'release', node: 'a', shard: s, reason: 'rebalance' })
        await leasesA.delete(`shard.${s}`, { previousSeq: revision })
        await recorder.until(() => recorder.count('acquire') === s + 1)
      }
      return handoffs(recorder, 0)
    } finally {
      watch.stop()
      await recorder.destroy()
      await leasesA.destroy()
      await a.close()
      await b.close()
    }
  }
}
