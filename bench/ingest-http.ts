/**
 * Ingest over HTTP, embedded mode: batches of 50 click events posted by one load generator (a child
 * process, keep-alive fetch, fixed concurrency) to
 *   - baseline: a bare Fastify route that parses the same body and discards it — the HTTP ceiling;
 *   - result: `POST /v1/events/collect` of the running platform — the whole ingest pipeline, 202 after
 *     the transport's fsync, then until every accepted event is counted in ClickHouse (end to end).
 * Prints events/s and p50/p99 request latency of both, and the ratio.
 *
 * `node --import tsx bench/ingest-http.ts` (BENCH_HTTP_MS: duration of each run, default 8000).
 */

import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'

const BATCH = 50
const PAGES = 100
const CONCURRENCY = 32
const DURATION_MS = Number(process.env.BENCH_HTTP_MS ?? 8000)
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'

interface Load {
  url: string
  siteKey: string
  run: string
}
interface LoadResult {
  ok: number
  failed: Record<string, number>
  ms: number
  latencies: number[]
}

/** The load generator: CONCURRENCY loops posting fresh batches (unique ids) for DURATION_MS. */
async function generate({ url, siteKey, run }: Load): Promise<LoadResult> {
  const now = Date.now()
  const events = (page: number) =>
    JSON.stringify(
      Array.from({ length: BATCH }, (_, i) => ({
        type: 'click',
        // A person's pace: 50 clicks over 5 s.
        ts: now - 5000 + i * 100,
        url: `https://bench.example/p/${page}`,
        vw: 1280,
        vh: 800,
        dw: 1280,
        dh: 4000,
        x: (i * 97) % 1280,
        y: (i * 613) % 4000,
      })),
    )
  const pages = Array.from({ length: PAGES }, (_, p) => events(p))
  const latencies: number[] = []
  const failed: Record<string, number> = {}
  let ok = 0
  let n = 0
  const t0 = performance.now()
  const end = t0 + DURATION_MS
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const i = n++
        const body = `{"siteKey":"${siteKey}","batchId":"${run}-${i}","visitorId":"v${i % 997}","sessionId":"s${i}","events":${pages[i % PAGES]}}`
        const s = performance.now()
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'text/plain', 'user-agent': UA },
            body,
          })
          await res.arrayBuffer()
          latencies.push(performance.now() - s)
          if (res.status === 202) ok++
          else failed[res.status] = (failed[res.status] ?? 0) + 1
        } catch (e) {
          failed[(e as Error).message] = (failed[(e as Error).message] ?? 0) + 1
        }
      }
    }),
  )
  return { ok, failed, ms: performance.now() - t0, latencies }
}

if (process.env.BENCH_LOAD !== undefined) {
  process.stdout.write(JSON.stringify(await generate(JSON.parse(process.env.BENCH_LOAD) as Load)))
} else {
  /** Runs the generator in a process of its own, so it does not share an event loop with the server. */
  const load = (l: Load): Promise<LoadResult> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname], {
        env: { ...process.env, BENCH_LOAD: JSON.stringify(l) },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let out = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.once('error', reject)
      child.once('exit', (code) => {
        if (code === 0) resolve(JSON.parse(out) as LoadResult)
        else reject(new Error(`load generator exited ${code}`))
      })
    })
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b)
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN
  }
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
  const line = (name: string, events: number, seconds: number, r: LoadResult) =>
    `  ${name}  ${fmt(events / seconds).padStart(9)} events/s   p50 ${pct(r.latencies, 50).toFixed(1)} ms   p99 ${pct(r.latencies, 99).toFixed(1)} ms${
      Object.keys(r.failed).length > 0 ? `   failed ${JSON.stringify(r.failed)}` : ''
    }`

  // Baseline: the same generator against a route that parses and discards.
  const { default: Fastify } = await import('fastify')
  const bare = Fastify({ bodyLimit: 512 * 1024 })
  bare.removeAllContentTypeParsers()
  bare.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (_r, b, done) =>
    done(null, b),
  )
  bare.post('/collect', async (req, reply) => {
    const batch = JSON.parse(req.body as string) as { events: unknown[] }
    return reply.code(202).send({ accepted: batch.events.length })
  })
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 })
  const base = await load({ url: `${bareUrl}/collect`, siteKey: 'bench_site', run: 'base' })
  await bare.close()

  // Result: the platform, embedded, limits off (one generator is one client address).
  const { loadConfig, startPlatform } = await import('@hm/gateway')
  const dir = await mkdtemp(join(tmpdir(), 'hm-bench-'))
  const platform = await startPlatform(
    loadConfig({
      HM_DATA_DIR: dir,
      HM_PORT: '0',
      HM_DEMO_TRAFFIC: 'false',
      HM_LOG_LEVEL: 'error',
      HM_RATE_LIMIT_PER_IP: '0',
      HM_RATE_LIMIT_PER_SITE: '0',
    }),
  )
  const { siteKey, siteId, apiKey } = platform.demo!
  const t0 = performance.now()
  const result = await load({ url: `${platform.url}/v1/events/collect`, siteKey, run: `r${Date.now()}` })
  const accepted = result.ok * BATCH
  // End to end: until every accepted event is counted in ClickHouse.
  const counted = async () => {
    let total = 0
    for (let p = 0; p < PAGES; p++) {
      const r = await fetch(`${platform.url}/v1/sites/${siteId}/heatmap?page=/p/${p}&type=click`, {
        headers: { authorization: `Bearer ${apiKey}` },
      })
      total += ((await r.json()) as { total: number }).total
    }
    return total
  }
  let total = 0
  for (;;) {
    await platform.runtime.flushNow()
    total = await counted()
    if (total >= accepted || performance.now() - t0 > DURATION_MS * 20) break
    await new Promise((r) => setTimeout(r, 200))
  }
  const e2eSeconds = (performance.now() - t0) / 1000
  await platform.stop()
  await rm(dir, { recursive: true, force: true })

  const baseRate = (base.ok * BATCH) / (base.ms / 1000)
  const httpRate = accepted / (result.ms / 1000)
  console.log(
    `ingest over HTTP, embedded, batches of ${BATCH} clicks, ${CONCURRENCY} concurrent requests, ${DURATION_MS / 1000} s each, ${availableParallelism()} cores`,
  )
  console.log(line('baseline  bare Fastify parse + discard  ', base.ok * BATCH, base.ms / 1000, base))
  console.log(line('result    /v1/events/collect → 202       ', accepted, result.ms / 1000, result))
  console.log(
    `  end to end  ${fmt(total)} of ${fmt(accepted)} accepted events counted in ClickHouse: ${fmt(total / e2eSeconds)} events/s`,
  )
  console.log(
    `  ratio  accepted ${(httpRate / baseRate).toFixed(2)}×   end to end ${(total / e2eSeconds / baseRate).toFixed(2)}×   (target ≥ 0.5)`,
  )
  if (total !== accepted) {
    console.error(`bench: ${accepted - total} accepted events were not counted`)
    process.exitCode = 1
  }
}
