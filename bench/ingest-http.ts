import { availableParallelism } from 'node:os'
import { InProcessTransport } from '@hm/runtime'
import { startEmbedded } from './embedded.ts'
import { LOAD_SHAPE, type LoadResult, percentile, runLoad } from './load.ts'

const { batch: BATCH, pages: PAGES, concurrency: CONCURRENCY } = LOAD_SHAPE

const DURATION_MS = Number(process.env.BENCH_HTTP_MS ?? 8000)
// Both servers first take this much load unmeasured: the figures are of compiled code, as in a server
// that has been up a while, not of its first seconds (the platform has far more code to optimise).
const WARMUP_MS = Number(process.env.BENCH_HTTP_WARMUP_MS ?? 5000)

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const line = (name: string, events: number, seconds: number, r: LoadResult) =>
  `  ${name}  ${fmt(events / seconds).padStart(9)} events/s   p50 ${percentile(r.latencies, 50).toFixed(1)} ms   p99 ${percentile(r.latencies, 99).toFixed(1)} ms${
    Object.keys(r.failed).length > 0 ? `   failed ${JSON.stringify(r.failed)}` : ''
  }`

// Baseline: the same generator against a route that parses and discards. It runs before and after the
// platform, and the ratio is to the mean of the two: on a shared machine the speed drifts over a minute.
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
const baseline = (run: string) =>
  runLoad({
    urls: [`${bareUrl}/collect`],
    siteKey: 'bench_site',
    run,
    durationMs: DURATION_MS,
    warmupMs: WARMUP_MS,
  })
const before = await baseline('before')

// Result: the platform, embedded, limits off (one generator is one client address).
const { platform, stop } = await startEmbedded('hm-bench-')
const { siteKey, siteId, apiKey } = platform.demo!
const result = await runLoad({
  urls: [`${platform.url}/v1/events/collect`],
  siteKey,
  run: `r${Date.now()}`,
  durationMs: DURATION_MS,
  warmupMs: WARMUP_MS,
})
const accepted = result.ok * BATCH
// End to end: from the start of the measured load until every event accepted so far (the warm-up's too)
// is in ClickHouse. The embedded transport holds a message until
// the flush that covers it is committed, and a flush cycle resolves true once everything handed out is
// written: both at once means every accepted event has been inserted. The counts are read afterwards
// (100 heatmap queries: too slow to poll without slowing what they measure) and must match.
const runtime = platform.runtime!
const transport = runtime.options.transport
if (!(transport instanceof InProcessTransport)) throw new Error('bench: expected the embedded transport')
for (;;) {
  const written = await runtime.flushNow()
  if ((written && transport.heldBytes === 0) || Date.now() - result.startedAt > DURATION_MS * 20) break
  await new Promise((r) => setTimeout(r, 20))
}
const e2eSeconds = (Date.now() - result.startedAt) / 1000
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
const total = await counted()
await stop()
const after = await baseline('after')
await bare.close()

const rate = (r: LoadResult) => (r.ok * BATCH) / (r.ms / 1000)
const baseRate = (rate(before) + rate(after)) / 2
const httpRate = accepted / (result.ms / 1000)
console.log(
  `ingest over HTTP, embedded, batches of ${BATCH} clicks, ${CONCURRENCY} concurrent requests, ${DURATION_MS / 1000} s each after ${WARMUP_MS / 1000} s unmeasured, ${availableParallelism()} cores`,
)
console.log(
  line('baseline  bare Fastify parse + discard, before', before.ok * BATCH, before.ms / 1000, before),
)
console.log(line('baseline  bare Fastify parse + discard, after ', after.ok * BATCH, after.ms / 1000, after))
console.log(line('result    /v1/events/collect → 202             ', accepted, result.ms / 1000, result))
console.log(
  `  end to end  ${fmt(total)} of ${fmt(accepted)} accepted events counted in ClickHouse: ${fmt(total / e2eSeconds)} events/s`,
)
console.log(
  `  ratio to the baselines' mean (${fmt(baseRate)} events/s)  accepted ${(httpRate / baseRate).toFixed(2)}×   end to end ${(total / e2eSeconds / baseRate).toFixed(2)}×   (target ≥ 0.5)`,
)
if (total !== accepted) {
  console.error(`bench: ${accepted - total} accepted events were not counted`)
  process.exitCode = 1
}
