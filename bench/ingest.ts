/**
 * Ingest path: page events routed to shards, published on the in-process transport, applied by page
 * actors in the worker pool and drained. Baseline: the same actor logic applied in a plain loop on the
 * main thread (no transport, no threads) — the cost floor of the work itself.
 */
import { availableParallelism } from 'node:os'
import {
  type AcceptedEvent,
  actorsWorkerFile,
  type PageEvent,
  pageActor,
  pageActorKey,
  routeBatch,
} from '@hm/actors'
import { actorKey, type FlushBatch, InProcessTransport, RuntimeHost } from '@hm/runtime'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 400_000)
const PAGES = 1000
const BATCH = 50
const SHARDS = 64

function makeEvents(): AcceptedEvent[] {
  const out: AcceptedEvent[] = []
  let seed = 42
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
  const now = Date.now()
  for (let i = 0; i < EVENTS; i++) {
    const page = `/p/${Math.floor(rnd() * rnd() * PAGES)}`
    out.push({
      page,
      url: `https://bench.example${page}`,
      type: 'click',
      ts: now,
      x: Math.floor(rnd() * 1280),
      y: Math.floor(rnd() * 4000),
      vw: 1280,
      vh: 800,
      dw: 1280,
      dh: 4000,
    })
  }
  return out
}

function baseline(events: AcceptedEvent[]): number {
  const t0 = performance.now()
  const actors = new Map<string, ReturnType<typeof pageActor.initial>>()
  // The baseline applies the logic directly: the context's effects are not used by page actors.
  const unused = (): never => {
    throw new Error('not used by the baseline')
  }
  const ctx = {
    type: 'page',
    key: actorKey('x'),
    now: Date.now,
    tell: unused,
    setTimer: unused,
    cancelTimer: unused,
    setReminder: unused,
    cancelReminder: unused,
    watched: () => false,
    publish: unused,
    passivate: unused,
  }
  for (let i = 0; i < events.length; i += BATCH) {
    const byPage = new Map<string, PageEvent[]>()
    for (const { page, url: _url, ...e } of events.slice(i, i + BATCH)) {
      const l = byPage.get(page) ?? []
      l.push(e as PageEvent)
      byPage.set(page, l)
    }
    for (const [page, list] of byPage) {
      const key = pageActorKey('site', page)
      let s = actors.get(key)
      if (s === undefined) {
        s = pageActor.initial(actorKey(key), ctx)
        actors.set(key, s)
      }
      pageActor.receive(s, { events: list }, ctx)
    }
  }
  let rows = 0
  for (const s of actors.values()) rows += pageActor.drain!(s, ctx).length
  const ms = performance.now() - t0
  if (rows === 0) throw new Error('baseline produced nothing')
  return (events.length / ms) * 1000
}

async function runtime(events: AcceptedEvent[]): Promise<number> {
  const transport = await InProcessTransport.open({ maxPendingBytes: 2 ** 31 })
  let rows = 0
  const sink = {
    positions: async () => new Map(),
    write: async (batches: readonly FlushBatch[]) => {
      for (const b of batches) rows += (b.drained.page ?? []).length
    },
  }
  const host = new RuntimeHost({
    transport,
    sink,
    workerFile: actorsWorkerFile,
    shardCount: SHARDS,
    flushIntervalMs: 200,
    onError: (e) => console.error(e),
  })
  await host.start()
  const t0 = performance.now()
  const pending: Promise<unknown>[] = []
  for (let i = 0; i < events.length; i += BATCH) {
    for (const p of routeBatch(
      // A batch is one visitor's: spread over as many sessions as a real site would have at once.
      { siteId: 'site', visitorId: `v${(i / BATCH) % 2000}`, sessionId: `s${(i / BATCH) % 2000}` },
      events.slice(i, i + BATCH),
      SHARDS,
    )) {
      pending.push(transport.publish(p.shard, p.data, `b${i}:${p.shard}`))
    }
  }
  await Promise.all(pending)
  const target = host.stats().delivered + pending.length
  while (host.stats().delivered < target) await new Promise((r) => setTimeout(r, 2))
  const ms = performance.now() - t0
  await host.stop()
  await transport.close()
  if (rows === 0) throw new Error('runtime produced nothing')
  return (events.length / ms) * 1000
}

export async function ingestBench(): Promise<void> {
  const events = makeEvents()
  baseline(events.slice(0, 20_000)) // warm-up
  const base = baseline(events)
  const rt = await runtime(events)
  const fmt = (n: number): string => `${Math.round(n).toLocaleString('en-US')} events/s`
  console.log(
    `ingest path, ${EVENTS.toLocaleString('en-US')} click events over ${PAGES} pages, batches of ${BATCH}, ${availableParallelism()} cores`,
  )
  console.log(`  baseline  plain in-thread apply loop        ${fmt(base)}`)
  console.log(`  result    transport → worker pool → actors   ${fmt(rt)}   ratio ${(rt / base).toFixed(2)}×`)
}
