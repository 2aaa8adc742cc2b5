import { availableParallelism } from 'node:os'
import { InProcessTransport } from '@hm/runtime'
import { startEmbedded } from './embedded.ts'
import { LOAD_SHAPE, type LoadResult, percentile, runLoad } from './load.ts'

const { batch: BATCH, pages: PAGES, concurrency: CONCURRENCY } = LOAD_SHAPE

const DURATION_MS = Number(process.env.BENCH_HTTP_MS ?? 8000)
// Each server first takes this much load unmeasured: the figures are of compiled code, as in a server that
// has been up a while. The platform has far more code to optimise than the bare route: after 5 s of load,
// V8 still spent about a tenth of the platform's CPU in the next 8 s on optimising (140 functions), after
// 20 s a thirtieth (42).
const WARMUP_MS = Number(process.env.BENCH_HTTP_WARMUP_MS ?? 20_000)
// Platform rounds, each between two rounds of the bare route: the machine's speed drifts by a fifth within
// a minute, so each round is compared with the baseline measured right before and right after it.
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 3)
// Every load run is a fresh generator process: it warms up its own code on other pages before measuring.
const GENERATOR_WARMUP_MS = 2000

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const line = (name: string, rate: number, r: LoadResult) =>
  `  ${name}  ${fmt(rate).padStart(9)} events/s   p50 ${percentile(r.latencies, 50).toFixed(1)} ms   p99 ${percentile(r.latencies, 99).toFixed(1)} ms${
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

// Result: the platform, embedded, limits off (one generator is one client address).
const { platform, stop } = await startEmbedded('hm-bench-')
const { siteKey, siteId, apiKey } = platform.demo!
const runtime = platform.runtime!
if (!(runtime.options.transport instanceof InProcessTransport))
  throw new Error('bench: expected the embedded transport')
const transport: InProcessTransport = runtime.options.transport

const started = Date.now()
const load = (url: string, round: number) =>
  runLoad({
    urls: [url],
    siteKey,
    run: `r${started}-${round}`,
    durationMs: DURATION_MS,
    warmupMs: round === 0 ? WARMUP_MS : GENERATOR_WARMUP_MS,
  })
const rate = (r: LoadResult) => (r.ok * BATCH) / (r.ms / 1000)

/**
 * Until every event accepted so far is in ClickHouse: the embedded transport holds a message until the
 * flush that covers it is committed, and a flush cycle resolves true once everything handed out is
 * written; both at once means every accepted event has been inserted.
 */
async function drained(): Promise<void> {
  const limit = Date.now() + DURATION_MS * 20
  for (;;) {
    const written = await runtime.flushNow()
    if (written && transport.heldBytes === 0) return
    if (Date.now() > limit) throw new Error('bench: the platform did not drain')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * Until this process is idle (under a twentieth of a core over 250 ms, or 10 s at most): ClickHouse may
 * still merge parts after a drain, and a baseline measured meanwhile would be slowed by the platform.
 */
async function quiet(): Promise<void> {
  const limit = Date.now() + 10_000
  while (Date.now() < limit) {
    const before = process.cpuUsage()
    await new Promise((r) => setTimeout(r, 250))
    const used = process.cpuUsage(before)
    if ((used.user + used.system) / 1000 < 250 / 20) return
  }
}

const bareRuns: LoadResult[] = []
const platformRuns: Array<{ result: LoadResult; e2eSeconds: number }> = []
for (let round = 0; round <= ROUNDS; round++) {
  bareRuns.push(await load(`${bareUrl}/collect`, round))
  if (round === ROUNDS) break
  const result = await load(`${platform.url}/v1/events/collect`, round)
  // End to end: from the start of the round's measured load until everything accepted is in ClickHouse.
  await drained()
  platformRuns.push({ result, e2eSeconds: (Date.now() - result.startedAt) / 1000 })
  await quiet()
}

// The counts are read at the end (100 heatmap queries: too slow to poll without slowing what they measure)
// and must match what was accepted on the measured pages in every round.
const accepted = platformRuns.reduce((n, { result }) => n + result.ok * BATCH, 0)
let total = 0
for (let p = 0; p < PAGES; p++) {
  const r = await fetch(`${platform.url}/v1/sites/${siteId}/heatmap?page=/p/${p}&type=click`, {
    headers: { authorization: `Bearer ${apiKey}` },
  })
  total += ((await r.json()) as { total: number }).total
}
await stop()
await bare.close()

console.log(
  `ingest over HTTP, embedded, batches of ${BATCH} clicks, ${CONCURRENCY} concurrent requests, ${ROUNDS} rounds of ${DURATION_MS / 1000} s each between rounds of the bare route, after ${WARMUP_MS / 1000} s unmeasured, ${availableParallelism()} cores`,
)
const ratios = { accepted: [] as number[], e2e: [] as number[] }
for (let round = 0; round <= ROUNDS; round++) {
  console.log(
    line(`baseline  bare Fastify parse + discard        `, rate(bareRuns[round]!), bareRuns[round]!),
  )
  if (round === ROUNDS) break
  const { result, e2eSeconds } = platformRuns[round]!
  const baseline = (rate(bareRuns[round]!) + rate(bareRuns[round + 1]!)) / 2
  const e2e = (result.ok * BATCH) / e2eSeconds
  ratios.accepted.push(rate(result) / baseline)
  ratios.e2e.push(e2e / baseline)
  console.log(
    `${line('result    /v1/events/collect → 202          ', rate(result), result)}   end to end ${fmt(e2e)} events/s   ratio to the baselines beside it: accepted ${ratios.accepted.at(-1)!.toFixed(2)}×, end to end ${ratios.e2e.at(-1)!.toFixed(2)}×`,
  )
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
console.log(`  end to end  ${fmt(total)} of ${fmt(accepted)} accepted events counted in ClickHouse`)
console.log(
  `  ratio, mean of the rounds  accepted ${mean(ratios.accepted).toFixed(2)}×   end to end ${mean(ratios.e2e).toFixed(2)}× (lowest round ${Math.min(...ratios.e2e).toFixed(2)}×)   (target ≥ 0.5)`,
)
if (total !== accepted) {
  console.error(`bench: ${accepted - total} accepted events were not counted`)
  process.exitCode = 1
}
