/**
 * Ingest path: click batches routed to shards as the gateway routes them, published on the in-process
 * transport, applied by page and session actors in the worker pool and drained. Baseline: the same
 * envelopes applied by the same actor logic in a plain loop on the main thread (no transport, no
 * threads, no snapshots) — the cost floor of the work itself.
 */
import { availableParallelism } from 'node:os'
import {
  type AcceptedEvent,
  actorsWorkerFile,
  pageActor,
  readTableRows,
  routeBatch,
  type ShardPayload,
  sessionActor,
} from '@hm/actors'
import {
  type ActorContext,
  type ActorLogic,
  actorKey,
  decodeEnvelopes,
  type FlushBatch,
  InProcessTransport,
  RuntimeHost,
} from '@hm/runtime'

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

/** The stream messages of the workload, routed exactly as the gateway routes batches. */
function route(events: AcceptedEvent[]): ShardPayload[] {
  const out: ShardPayload[] = []
  for (let i = 0; i < events.length; i += BATCH) {
    // A batch is one visitor's: spread over as many sessions as a real site would have at once.
    const n = (i / BATCH) % 2000
    out.push(
      ...routeBatch(
        { siteId: 'site', visitorId: `v${n}`, sessionId: `s${n}` },
        events.slice(i, i + BATCH),
        SHARDS,
      ),
    )
  }
  return out
}

/**
 * The same envelopes applied by the same actor logic (page and session actors) in a plain loop on the
 * main thread, drained once at the end: no transport, no threads, no snapshots, no timers.
 */
function baseline(messages: ShardPayload[], events: number): number {
  const t0 = performance.now()
  const logic = new Map<string, ActorLogic>([
    [pageActor.type, pageActor as ActorLogic],
    [sessionActor.type, sessionActor as ActorLogic],
  ])
  const actors = new Map<string, { logic: ActorLogic; state: unknown; ctx: ActorContext }>()
  const ignore = (): void => {}
  for (const m of messages) {
    for (const [type, key, message] of decodeEnvelopes(m.data)) {
      const id = `${type} ${key}`
      let a = actors.get(id)
      if (a === undefined) {
        const l = logic.get(type)!
        const ctx: ActorContext = {
          type,
          key: actorKey(key),
          now: Date.now,
          tell: ignore,
          setTimer: ignore,
          cancelTimer: ignore,
          setReminder: ignore,
          cancelReminder: ignore,
          watched: () => false,
          publish: ignore,
          passivate: ignore,
        }
        a = { logic: l, state: l.initial(actorKey(key), ctx), ctx }
        actors.set(id, a)
      }
      a.state = a.logic.receive(a.state, message, a.ctx)
    }
  }
  let rows = 0
  for (const a of actors.values()) rows += a.logic.drain!(a.state, a.ctx).length
  const ms = performance.now() - t0
  if (rows === 0) throw new Error('baseline produced nothing')
  return (events / ms) * 1000
}

async function runtime(messages: ShardPayload[], events: number): Promise<number> {
  const transport = await InProcessTransport.open({ maxPendingBytes: 2 ** 31 })
  let rows = 0
  const sink = {
    positions: async () => new Map(),
    write: async (batches: readonly FlushBatch[]) => {
      // The page actors' rows (cells and element clicks), one line each in the bodies the workers encoded.
      for (const b of batches)
        for (const [tag, body] of readTableRows(b.drained))
          if (tag === 'c' || tag === 'e') for (const byte of body) if (byte === 10) rows++
    },
  }
  const host = new RuntimeHost({
    transport,
    sink,
    workerFile: actorsWorkerFile,
    shardCount: SHARDS,
    // A worker per core: nothing else runs on the main thread here (the product leaves it a core).
    threads: availableParallelism(),
    flushIntervalMs: 200,
    onError: (e) => console.error(e),
  })
  await host.start()
  const t0 = performance.now()
  const pending = messages.map((p, i) => transport.publish(p.shard, p.data, `b${i}`))
  await Promise.all(pending)
  const target = host.stats().delivered + pending.length
  while (host.stats().delivered < target) await new Promise((r) => setTimeout(r, 2))
  const ms = performance.now() - t0
  await host.stop()
  await transport.close()
  if (rows === 0) throw new Error('runtime produced nothing')
  return (events / ms) * 1000
}

export async function ingestBench(): Promise<void> {
  const events = makeEvents()
  const messages = route(events)
  baseline(route(events.slice(0, 20_000)), 20_000) // warm-up
  const base = baseline(messages, events.length)
  const rt = await runtime(messages, events.length)
  const fmt = (n: number): string => `${Math.round(n).toLocaleString('en-US')} events/s`
  console.log(
    `ingest path, ${EVENTS.toLocaleString('en-US')} click events over ${PAGES} pages, batches of ${BATCH}, ${availableParallelism()} cores`,
  )
  console.log(`  baseline  same envelopes, page and session actors, in-thread apply loop   ${fmt(base)}`)
  console.log(
    `  result    transport → worker pool → actors → drained                  ${fmt(rt)}   ratio ${(rt / base).toFixed(2)}×`,
  )
}
