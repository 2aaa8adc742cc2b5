/**
 * Live bench: event → live update latency over the WebSocket under load. The whole platform runs in a
 * child process (chDB binds one data directory per process) on embedded defaults.
 *
 * A console watches one page's click map; background traffic (`BENCH_LIVE_LOAD` events/s, default 1,000,
 * in batches of 50 over 200 other pages) keeps the runtime busy; every 100 ms a probe click lands on the
 * watched page in a cell of its own. Result: from just before the probe's POST to the delta carrying its
 * cell on the socket. Baseline, measured on the same probes: the POST until its 202 (durably accepted) —
 * the part of the path before the actors.
 */
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import type { WireEvent } from '@hm/actors'
import { connect } from '../gateway/test/query/ws-client.ts'
import { startEmbedded } from './embedded.ts'
import { percentile } from './load.ts'

const LOAD = Number(process.env.BENCH_LIVE_LOAD ?? 1000)
const SECONDS = Number(process.env.BENCH_LIVE_SECONDS ?? 15)
const PROBE_MS = 100
const screen = { vw: 1280, vh: 800, dw: 1280, dh: 40_000 }

async function measure(): Promise<void> {
  const { platform, stop } = await startEmbedded('hm-bench-live-')
  const { siteKey, siteId, apiKey } = platform.demo!
  let batchNo = 0
  const post = (sessionId: string, events: WireEvent[]): Promise<Response> =>
    fetch(`${platform.url}/v1/events/collect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        siteKey,
        batchId: `live${String(++batchNo).padStart(8, '0')}`,
        visitorId: 'v',
        sessionId,
        events,
      }),
    })
  try {
    const up = await connect(`${platform.url}/v1/sites/${siteId}/live?page=/probe&type=click`, {
      authorization: `Bearer ${apiKey}`,
    })
    if (!up.ok) throw new Error(`live socket refused: ${up.status}`)
    const ws = up.socket
    await ws.next<{ kind: string }>((m) => m.kind === 'hello')
    const arrived = new Map<number, number>()
    const watcher = setInterval(() => {
      for (const m of ws.messages.splice(0) as Array<{ kind: string; cells?: number[][] }>) {
        if (m.kind !== 'delta') continue
        for (const [x, y] of m.cells!) arrived.set(y! * 128 + x!, performance.now())
      }
    }, 1)

    // Background load: batches of 50 clicks on 200 pages, paced to LOAD events/s.
    let stopLoad = false
    let loadSent = 0
    const load = (async () => {
      const started = performance.now()
      let n = 0
      while (!stopLoad) {
        const due = ((performance.now() - started) / 1000) * LOAD
        if (loadSent + 50 > due) {
          await new Promise((r) => setTimeout(r, 5))
          continue
        }
        const now = Date.now()
        const events = Array.from(
          { length: 50 },
          (_, i): WireEvent => ({
            type: 'click',
            ts: now - 50 + i,
            url: `https://bench.example/p/${(n + i) % 200}`,
            ...screen,
            x: (i * 97) % 1280,
            y: (i * 131) % 4000,
          }),
        )
        loadSent += 50
        void post(`load${n++ % 500}`, events).then((r) => r.arrayBuffer())
      }
    })()

    const probes: Array<{ t0: number; t202: number; cell: number }> = []
    for (let i = 0; i < (SECONDS * 1000) / PROBE_MS; i++) {
      const x = i % 128
      const y = 100 + Math.floor(i / 128)
      const t0 = performance.now()
      const r = await post(`probe${i}`, [
        {
          type: 'click',
          ts: Date.now(),
          url: 'https://bench.example/probe',
          ...screen,
          x: x * 10,
          y: y * 16,
        },
      ])
      await r.arrayBuffer()
      probes.push({ t0, t202: performance.now(), cell: y * 128 + x })
      await new Promise((r) => setTimeout(r, Math.max(0, PROBE_MS - (performance.now() - t0))))
    }
    stopLoad = true
    await load
    const deadline = performance.now() + 5000
    while (probes.some((p) => !arrived.has(p.cell)) && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 20))
    clearInterval(watcher)
    ws.close()

    const live = probes.filter((p) => arrived.has(p.cell)).map((p) => arrived.get(p.cell)! - p.t0)
    const accept = probes.map((p) => p.t202 - p.t0)
    const lost = probes.length - live.length
    const f = (ms: number): string => `${ms.toFixed(1).padStart(6)} ms`
    console.log(
      `\nlive path, ${probes.length} probe clicks every ${PROBE_MS} ms under ${LOAD.toLocaleString('en-US')} background events/s (${loadSent.toLocaleString('en-US')} sent), ${availableParallelism()} cores`,
    )
    console.log(
      `  baseline  POST → 202 (durably accepted)       p50 ${f(percentile(accept, 50))}   p99 ${f(percentile(accept, 99))}`,
    )
    console.log(
      `  result    POST → delta on the WebSocket       p50 ${f(percentile(live, 50))}   p99 ${f(percentile(live, 99))}   ratio p99 ${(percentile(live, 99) / percentile(accept, 99)).toFixed(2)}× (target p99 ≤ 250 ms)${lost > 0 ? `; ${lost} probes never arrived` : ''}`,
    )
  } finally {
    await stop()
  }
}

/** The live part of `npm run bench`, in a child process of its own. */
export async function liveBench(): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`live bench exited with ${code}`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await measure()
  // The platform's pools and sockets are closed; leave at once rather than wait for stray timers.
  process.exit(0)
}
