import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { IngestBatch, WireEvent } from '@hm/actors'
import type { PublishAck, ShardId, Transport } from '@hm/runtime'
import type pg from 'pg'
import { Registry } from 'prom-client'
import { endpoints } from '../../src/ingest/endpoints.ts'
import { createIngestMetrics } from '../../src/ingest/metrics.ts'
import { Pipeline } from '../../src/ingest/pipeline.ts'
import { StepTimings } from '../../src/ingest/step-timings.ts'
import { createIngestPipeline, type IngestSettings, newContext } from '../../src/ingest/steps.ts'
import { MemoryCache } from '../../src/stores/cache.ts'

const SITE = { id: '6f1c1b43-2f7e-4a57-9d8b-0d1f3f0c7a11', org_id: 'org', allowed_origins: [] as string[] }
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'

/** A transport that keeps what is published, as the real one would store it. */
function recordingTransport(): Transport & {
  published: Array<{ shard: ShardId; data: Uint8Array; id: string }>
} {
  const published: Array<{ shard: ShardId; data: Uint8Array; id: string }> = []
  const ids = new Set<string>()
  return {
    published,
    async publish(shard, data, msgId): Promise<PublishAck> {
      const duplicate = ids.has(msgId)
      if (!duplicate) {
        ids.add(msgId)
        published.push({ shard, data, id: msgId })
      }
      return { seq: published.length as never, duplicate }
    },
    consumer: async () => {
      throw new Error('not used')
    },
    close: async () => {},
  }
}

function setup(settings: Partial<IngestSettings> = {}) {
  const registry = new Registry()
  const metrics = createIngestMetrics(registry)
  const transport = recordingTransport()
  const pool = {
    query: async (_sql: string, [key]: [string]) => ({ rows: key === 'site_key_1' ? [SITE] : [] }),
  } as unknown as pg.Pool
  const pipeline = createIngestPipeline({
    transport,
    pool,
    cache: new MemoryCache(),
    shardCount: 8,
    settings: {
      maxBodyBytes: 512 * 1024,
      rateLimitWindowMs: 60_000,
      rateLimitPerIp: 0,
      rateLimitPerSite: 0,
      countryHeader: 'cf-ipcountry',
      ...settings,
    },
    metrics,
    now: () => NOW,
    warn: () => {},
  })
  const run = async (body: unknown, headers: Record<string, string> = {}, ip = '203.0.113.77') => {
    const ctx = newContext(
      endpoints[0]!,
      typeof body === 'string' ? body : JSON.stringify(body),
      ip,
      { 'user-agent': IPHONE, ...headers },
      NOW,
    )
    await pipeline.run(ctx)
    return ctx
  }
  return { registry, transport, pipeline, run }
}

const NOW = Date.UTC(2026, 0, 15, 12)

function click(extra: Partial<WireEvent> = {}): WireEvent {
  return {
    type: 'click',
    ts: NOW - 1000,
    url: 'https://shop.example/account/jane.doe@example.com?token=secret',
    vw: 390,
    vh: 844,
    dw: 390,
    dh: 2000,
    x: 100,
    y: 200,
    selector: '#user-jane\\.doe\\@example\\.com > button',
    ...extra,
  } as WireEvent
}

function batch(events: WireEvent[], batchId = 'batch-0001'): IngestBatch {
  return { siteKey: 'site_key_1', batchId, visitorId: 'v1', sessionId: 's1', events }
}

async function metric(registry: Registry, name: string): Promise<Map<string, number>> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name)
  const out = new Map<string, number>()
  for (const v of m?.values ?? []) {
    out.set(
      Object.values(v.labels).join(',') +
        ((v as { metricName?: string }).metricName?.endsWith('_count') ? ':count' : ''),
      v.value,
    )
  }
  return out
}

describe('the pipeline runner', () => {
  test('runs steps in order, times each by name, and a throwing step is timed and ends the run', async () => {
    const registry = new Registry()
    const h = new StepTimings({ name: 't_seconds', help: 't', buckets: [0.001, 1], registers: [registry] })
    const seen: string[] = []
    const p = new Pipeline<{ halted: boolean }>(
      [
        { name: 'a', run: () => void seen.push('a') },
        {
          name: 'b',
          run: async () => {
            seen.push('b')
            throw new Error('no')
          },
        },
        { name: 'c', run: () => void seen.push('c') },
      ],
      h,
    )
    assert.deepEqual(p.names, ['a', 'b', 'c'])
    await assert.rejects(p.run({ halted: false }), /no/)
    assert.deepEqual(seen, ['a', 'b'])
    const counts = await metric(registry, 't_seconds')
    assert.equal(counts.get('a:count'), 1)
    assert.equal(counts.get('b:count'), 1)
    assert.equal(counts.get('c:count') ?? 0, 0)
  })

  test('step timings scrape as a Prometheus histogram: cumulative buckets, sum and count per step', async () => {
    const registry = new Registry()
    const t = new StepTimings({ name: 'w_seconds', help: 'w', buckets: [0.01, 0.1], registers: [registry] })
    const parse = t.slot('parse')
    const site = t.slot('site')
    assert.equal(t.slot('parse'), parse, 'a step keeps its slot')
    for (const s of [0.005, 0.01, 0.05, 2]) t.observe(parse, s)
    t.observe(site, 0.2)
    const text = await registry.metrics()
    const lines = text.split('\n').filter((l) => l.startsWith('w_seconds'))
    assert.deepEqual(lines, [
      'w_seconds_bucket{step="parse",le="0.01"} 2',
      'w_seconds_bucket{step="parse",le="0.1"} 3',
      'w_seconds_bucket{step="parse",le="+Inf"} 4',
      'w_seconds_sum{step="parse"} 2.065',
      'w_seconds_count{step="parse"} 4',
      'w_seconds_bucket{step="site",le="0.01"} 0',
      'w_seconds_bucket{step="site",le="0.1"} 0',
      'w_seconds_bucket{step="site",le="+Inf"} 1',
      'w_seconds_sum{step="site"} 0.2',
      'w_seconds_count{step="site"} 1',
    ])
    assert.match(text, /^# TYPE w_seconds histogram$/m)
    registry.resetMetrics()
    assert.match(await registry.metrics(), /^w_seconds_count\{step="parse"\} 0$/m)
  })

  test('a step that halts ends the run quietly', async () => {
    const h = new StepTimings({ name: 'u_seconds', help: 'u', buckets: [1] })
    const seen: string[] = []
    const p = new Pipeline<{ halted: boolean }>(
      [
        {
          name: 'a',
          run: (c) => {
            seen.push('a')
            c.halted = true
          },
        },
        { name: 'b', run: () => void seen.push('b') },
      ],
      h,
    )
    await p.run({ halted: false })
    assert.deepEqual(seen, ['a'])
  })

  test('two steps of one name are refused', () => {
    const h = new StepTimings({ name: 'v_seconds', help: 'v', buckets: [1] })
    assert.throws(
      () =>
        new Pipeline(
          [
            { name: 'a', run: () => {} },
            { name: 'a', run: () => {} },
          ],
          h,
        ),
      /two steps are named a/,
    )
  })
})

describe('the ingest pipeline', () => {
  test('its steps, in order', () => {
    assert.deepEqual(setup().pipeline.names, [
      'anonymise_ip',
      'size',
      'rate_ip',
      'parse',
      'site_key',
      'validate',
      'site',
      'origin',
      'rate_site',
      'opt_out',
      'bots',
      'consent',
      'attribute',
      'scrub',
      'normalise',
      'publish',
    ])
  })

  test('attributes the batch, anonymises the IP, scrubs PII, and publishes neither IP nor PII', async () => {
    const { run, transport, registry } = setup()
    const ctx = await run(batch([click(), click({ x: 120 } as Partial<WireEvent>)]), { 'cf-ipcountry': 'de' })
    assert.deepEqual(ctx.result, { accepted: 2, dropped: 0, duplicate: false })
    assert.equal(ctx.ip, '203.0.113.0')
    assert.deepEqual(ctx.attribution, { device: 'mobile', browser: 'Safari', os: 'iOS', country: 'DE' })
    assert.equal(ctx.accepted[0]!.page, '/account/[email]')
    assert.equal((ctx.accepted[0] as { selector: string }).selector, '#[email] > button')
    assert.ok(transport.published.length > 0)
    for (const p of transport.published) {
      const bytes = Buffer.from(p.data)
      for (const secret of ['203.0.113', 'jane', 'example.com', 'token', 'secret']) {
        assert.equal(bytes.includes(secret), false, `${secret} was published`)
      }
      assert.ok(p.id.startsWith(`${SITE.id}:batch-0001:`))
    }
    const steps = await metric(registry, 'hm_ingest_step_duration_seconds')
    for (const name of ['anonymise_ip', 'validate', 'scrub', 'publish'])
      assert.equal(steps.get(`${name}:count`), 1)
  })

  test('a batch sent again is stored once and says so', async () => {
    const { run, transport, registry } = setup()
    await run(batch([click()]))
    const stored = transport.published.length
    const again = await run(batch([click()]))
    assert.deepEqual(again.result, { accepted: 1, dropped: 0, duplicate: true })
    assert.equal(transport.published.length, stored)
    assert.equal((await metric(registry, 'hm_ingest_duplicate_batches_total')).get(''), 1)
    assert.equal((await metric(registry, 'hm_ingest_events_accepted_total')).get(''), 1)
  })

  test('dropped events are counted by reason, not thrown; nothing of a dropped batch is published', async () => {
    const { run, transport, registry } = setup()
    const dnt = await run(batch([click()], 'batch-dnt-1'), { dnt: '1' })
    const gpc = await run(batch([click()], 'batch-gpc-1'), { 'sec-gpc': '1' })
    const bot = await run(batch([click(), click()], 'batch-bot-1'), {
      'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    })
    const headless = await run(batch([click()], 'batch-headless'), {
      'user-agent':
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0',
    })
    // 25 clicks inside one second from a browser: no person clicks that fast.
    const burst = Array.from({ length: 25 }, (_, i) =>
      click({ ts: NOW - 5000 + i * 10 } as Partial<WireEvent>),
    )
    const fast = await run(batch(burst, 'batch-fast-1'))
    const stale = await run(
      batch([click({ ts: NOW - 40 * 86_400_000 } as Partial<WireEvent>), click()], 'batch-stale'),
    )
    for (const c of [dnt, gpc, bot, headless, fast]) {
      assert.equal(c.result?.accepted, 0)
      assert.ok(c.result!.dropped > 0)
    }
    assert.deepEqual(stale.result, { accepted: 1, dropped: 1, duplicate: false })
    // Only the fresh half of the stale batch reached the transport.
    assert.equal(transport.published.filter((p) => p.id.includes('batch-stale')).length > 0, true)
    assert.equal(transport.published.filter((p) => !p.id.includes('batch-stale')).length, 0)
    const dropped = await metric(registry, 'hm_ingest_dropped_total')
    assert.equal(dropped.get('do_not_track'), 2)
    assert.equal(dropped.get('bot_user_agent'), 3)
    assert.equal(dropped.get('bot_behaviour'), 25)
    assert.equal(dropped.get('stale'), 1)
  })

  test('a burst from a plain HTTP client is an integration, not a bot', async () => {
    const { run } = setup()
    const burst = Array.from({ length: 50 }, () => click())
    const ctx = await run(batch(burst), { 'user-agent': 'curl/8.5.0' })
    assert.deepEqual(ctx.result, { accepted: 50, dropped: 0, duplicate: false })
    assert.deepEqual(ctx.attribution, { device: 'unknown' })
  })

  test('refusals carry their code; the first failing step decides', async () => {
    const { run } = setup({ maxBodyBytes: 2000 })
    const cases: Array<[unknown, string, RegExp]> = [
      ['x'.repeat(2001), 'HM_ERR_INGEST_TOO_LARGE', /2001 bytes/],
      ['{"siteKey":', 'HM_ERR_INGEST_BAD_JSON', /JSON/],
      [{ ...batch([click()]), siteKey: undefined }, 'HM_ERR_INGEST_NO_SITE_KEY', /siteKey/],
      [{ ...batch([click()]), siteKey: '' }, 'HM_ERR_INGEST_NO_SITE_KEY', /siteKey/],
      [{ ...batch([click()]), siteKey: 'bad key!' }, 'HM_ERR_INGEST_BAD_BATCH', /^.*siteKey/],
      [[1, 2], 'HM_ERR_INGEST_BAD_BATCH', /body: Expected object/],
      [{ ...batch([click()]), siteKey: 'site_key_2' }, 'HM_ERR_INGEST_UNKNOWN_SITE', /site_key_2/],
    ]
    for (const [body, code, message] of cases) {
      await assert.rejects(run(body), (e: { code?: string; message: string }) => {
        assert.equal(e.code, code, `${JSON.stringify(body).slice(0, 60)}: ${e.message}`)
        assert.match(e.message, message)
        return true
      })
    }
  })

  test('an Origin outside the allow-list is refused; exact and wildcard entries admit', async () => {
    SITE.allowed_origins = ['https://shop.example', 'https://*.shop.example']
    try {
      const { run } = setup()
      const ok = await run(batch([click()], 'batch-origin-1'), { origin: 'https://shop.example' })
      assert.equal(ok.result?.accepted, 1)
      const sub = await run(batch([click()], 'batch-origin-2'), { origin: 'https://eu.shop.example' })
      assert.equal(sub.result?.accepted, 1)
      for (const origin of [
        'https://evil.example',
        'https://shop.example.evil.example',
        'http://eu.shop.example',
      ]) {
        await assert.rejects(run(batch([click()], 'batch-origin-3'), { origin }), {
          code: 'HM_ERR_INGEST_ORIGIN_DENIED',
        })
      }
    } finally {
      SITE.allowed_origins = []
    }
  })

  test('per-IP and per-site limits answer 429 with a Retry-After inside the window', async () => {
    const perIp = setup({ rateLimitPerIp: 2 })
    await perIp.run(batch([click()], 'batch-rl-0001'))
    await perIp.run(batch([click()], 'batch-rl-0002'), {}, '203.0.113.5') // same /24: same client
    await assert.rejects(
      perIp.run(batch([click()], 'batch-rl-0003')),
      (e: { code: string; retryAfterS: number }) => {
        assert.equal(e.code, 'HM_ERR_INGEST_RATE_LIMITED')
        assert.ok(e.retryAfterS >= 1 && e.retryAfterS <= 60)
        return true
      },
    )
    // Another network is another client.
    const other = await perIp.run(batch([click()], 'batch-rl-0004'), {}, '198.51.100.7')
    assert.equal(other.result?.accepted, 1)

    const perSite = setup({ rateLimitPerSite: 1 })
    await perSite.run(batch([click()], 'batch-rs-0001'))
    await assert.rejects(perSite.run(batch([click()], 'batch-rs-0002'), {}, '198.51.100.7'), {
      code: 'HM_ERR_INGEST_RATE_LIMITED',
    })
  })
})
