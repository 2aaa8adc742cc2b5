/**
 * Property-based fuzzing of the ingest endpoints against the running embedded platform: whatever arrives,
 * no 5xx and no crash; every invalid body a 4xx with the code (and field) it deserves; every valid batch
 * counted exactly once — also when sent again. Runs are bounded so the file stays well under a minute;
 * a failure prints fast-check's seed and path to replay it.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { IngestBatch, WireEvent } from '@hm/actors'
import fc from 'fast-check'
import { int, text, wireEventArb } from '../../../actors/test/helpers/arbitraries.ts'
import { gatewayErrors, type Platform } from '../../src/index.ts'
import { heatmap, waitFor } from '../helpers/events.ts'
import { scrape, send, startTestPlatform } from './harness.ts'

let platform: Platform
let stop: () => Promise<void>
let url: string

before(async () => {
  ;({ platform, stop } = await startTestPlatform({ HM_RATE_LIMIT_PER_IP: '0', HM_RATE_LIMIT_PER_SITE: '0' }))
  url = platform.url
})
after(async () => {
  await stop?.()
})

const RUN = randomBytes(4).toString('hex')
let serial = 0
const NOW = Date.now()
const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'curl/8.5.0',
  'node',
]
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'text/plain;charset=UTF-8',
]
const KINDS: Record<string, ReadonlySet<string>> = {
  '/v1/events/click': new Set(['click', 'rage', 'dead']),
  '/v1/events/scroll': new Set(['scroll', 'attention']),
  '/v1/events/mouse': new Set(['move']),
}

// ---- valid events, within every bound of the wire schema ----

/** What may follow the page's path without changing the page: query strings, anchors, index files. */
const suffix = fc.oneof(
  fc.constant(''),
  fc.constant('/'),
  fc.constant('/index.html'),
  text(40).map((s) => `?q=${encodeURIComponent(s)}&email=jane%40example.com`),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/).map((s) => `#${s}`),
)
// The past two days, or a browser clock far ahead (the gateway stamps those with its own time). Not the
// minute just ahead: kept as sent, it could fall in an hour the test's queries do not reach yet.
const eventArb = wireEventArb(
  fc.oneof(int(NOW - 2 * 86_400_000, NOW), int(NOW + 10 * 60_000, NOW + 10 * 86_400_000)),
)

/** Up to 10 events: below the pace a browser could be dropped for (20 clicks, 10 page views a second). */
const draftArb = fc.record({
  events: fc.array(eventArb, { minLength: 1, maxLength: 10 }),
  host: fc.domain(),
  suffixes: fc.array(suffix, { minLength: 10, maxLength: 10 }),
  visitorId: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
  userAgent: fc.constantFrom(...USER_AGENTS),
  contentType: fc.constantFrom(...CONTENT_TYPES),
  singleKind: fc.boolean(),
  sends: int(1, 3),
})
type Draft = typeof draftArb extends fc.Arbitrary<infer T> ? T : never

/** A batch of a page of its own (so its counts can be read back), with a batch id never used before. */
function materialise(d: Draft, prefix: string): { batch: IngestBatch; page: string; path: string } {
  const n = serial++
  const page = `/${prefix}/${RUN}/${n}`
  const events = d.events.map(
    (e, i) => ({ ...e, url: `https://${d.host}${page}${d.suffixes[i]}` }) as WireEvent,
  )
  const batch: IngestBatch = {
    siteKey: platform.demo!.siteKey,
    batchId: `${prefix}-${RUN}-${n}`,
    visitorId: d.visitorId,
    sessionId: `s-${RUN}-${n}`,
    events,
  }
  let path = '/v1/events/collect'
  if (d.singleKind) {
    const kinds = new Set(events.map((e) => e.type))
    const fit = Object.entries(KINDS).find(([, allowed]) => [...kinds].every((k) => allowed.has(k)))
    if (fit !== undefined) path = fit[0]
  }
  return { batch, page, path }
}

/** What the heatmaps must show for a batch: a count per event, visible ms for attention. */
const COUNTED = ['pageview', 'click', 'move', 'rage', 'dead', 'attention'] as const
function expectedTotals(events: WireEvent[]): Record<(typeof COUNTED)[number], number> {
  const t = { pageview: 0, click: 0, move: 0, rage: 0, dead: 0, attention: 0 }
  for (const e of events) {
    if (e.type === 'attention') t.attention += e.ms.reduce((a, b) => a + b, 0)
    else if (e.type !== 'scroll') t[e.type]++
  }
  return t
}

// ---- invalid bodies: each a mutation of a valid batch, with the answer it must get ----

interface Invalid {
  body: string
  contentType: string
  path: string
  status: number
  code: keyof typeof gatewayErrors
  /** Text the error message must contain: the field at fault. */
  names?: string
}

const REQUIRED: Record<WireEvent['type'], string[]> = {
  pageview: ['type', 'ts', 'url', 'vw', 'vh', 'dw', 'dh'],
  click: ['type', 'ts', 'url', 'vw', 'vh', 'dw', 'dh', 'x', 'y'],
  move: ['type', 'ts', 'url', 'x', 'y', 'rest'],
  scroll: ['type', 'url', 'dh', 'depth'],
  rage: ['type', 'ts', 'x', 'y', 'count'],
  dead: ['type', 'url', 'x', 'y'],
  attention: ['type', 'ts', 'url', 'band0', 'ms'],
}
/** Values no field of an event takes: every number in the schema is ≥ 0, integers mostly, bounded. */
const wrongValue = fc.constantFrom<unknown>(-1, 1.5, 1e16, '12', null, true, [], {})
/** Wrong values for the numeric and string fields of an event, as JSON allows. */
const wrongFor = (field: string): fc.Arbitrary<unknown> =>
  field === 'url' ? fc.constantFrom<unknown>('', 12, null, 'x'.repeat(2049)) : wrongValue

const invalidArb: fc.Arbitrary<Invalid> = draftArb.chain((d) => {
  const { batch, path } = materialise({ ...d, singleKind: false }, 'fz-bad')
  // Every invalid batch carries a page view of its page: the page list shows afterwards none was kept.
  batch.events.unshift({ ...batch.events[0]!, type: 'pageview' } as WireEvent)
  const pv = batch.events[0] as Record<string, unknown>
  for (const k of Object.keys(pv))
    if (!['type', 'ts', 'url', 'vw', 'vh', 'dw', 'dh'].includes(k)) delete pv[k]
  const json = (b: unknown, extra: Partial<Invalid>): Invalid => ({
    body: JSON.stringify(b),
    contentType: d.contentType,
    path,
    status: 400,
    code: 'HM_ERR_INGEST_BAD_BATCH',
    ...extra,
  })
  const index = int(0, batch.events.length - 1)
  return fc.oneof(
    // An event without one of its required fields.
    index.chain((i) =>
      fc.constantFrom(...REQUIRED[batch.events[i]!.type]).map((field) => {
        const events = batch.events.map((e, j) => {
          if (j !== i) return e
          const { [field]: _gone, ...rest } = e as unknown as Record<string, unknown>
          return rest
        })
        return json({ ...batch, events }, { names: `events.${i}.${field}` })
      }),
    ),
    // An event field with a value out of its type or range.
    index.chain((i) =>
      fc
        .constantFrom(...REQUIRED[batch.events[i]!.type].filter((f) => f !== 'type'))
        .chain((field) => wrongFor(field).map((value) => ({ field, value })))
        .map(({ field, value }) => {
          const events = batch.events.map((e, j) => (j === i ? { ...e, [field]: value } : e))
          return json({ ...batch, events }, { names: `events.${i}.${field}` })
        }),
    ),
    // An unknown event type, or an event property the schema does not have.
    index.chain((i) =>
      fc.constantFrom('tap', 'CLICK', '', 'pageviews').map((type) => {
        const events = batch.events.map((e, j) => (j === i ? { ...e, type } : e))
        return json({ ...batch, events }, { names: `events.${i}.type` })
      }),
    ),
    index.chain((i) =>
      fc.constantFrom('label', 'value', 'text', 'email').map((prop) => {
        const events = batch.events.map((e, j) => (j === i ? { ...e, [prop]: 'x' } : e))
        return json({ ...batch, events }, { names: `events.${i}.${prop}` })
      }),
    ),
    // The batch's own fields.
    fc.constantFrom('batchId', 'visitorId', 'sessionId', 'events').map((field) => {
      const { [field as keyof IngestBatch]: _gone, ...rest } = batch
      return json(rest, { names: field })
    }),
    fc
      .constantFrom<[string, unknown]>(
        ['batchId', 'short'],
        ['batchId', 'has spaces in it'],
        ['visitorId', ''],
        ['sessionId', 'x'.repeat(65)],
        ['events', []],
        ['events', {}],
        ['siteKey', 'a b c d'],
        ['siteKey', 'abc'],
        ['siteKey', 42],
      )
      .map(([field, value]) => json({ ...batch, [field]: value }, { names: field })),
    fc.constant(json({ ...batch, events: Array(501).fill(batch.events[0]) }, { names: 'events' })),
    fc.constantFrom('extra', 'ip', 'userAgent').map((prop) => json({ ...batch, [prop]: 1 }, { names: prop })),
    // No site key, or one no website has.
    fc
      .constantFrom<unknown>(undefined, '', null)
      .map((siteKey) =>
        json({ ...batch, siteKey }, { status: 401, code: 'HM_ERR_INGEST_NO_SITE_KEY', names: 'siteKey' }),
      ),
    fc
      .stringMatching(/^[A-Za-z0-9_-]{4,64}$/)
      .filter((k) => k !== batch.siteKey)
      .map((siteKey) => json({ ...batch, siteKey }, { status: 404, code: 'HM_ERR_INGEST_UNKNOWN_SITE' })),
    // Not JSON, or JSON that is not an object.
    fc
      .string({ unit: 'binary', maxLength: 200 })
      .filter((s) => {
        try {
          JSON.parse(s)
          return false
        } catch {
          return true
        }
      })
      .map((s) => ({ ...json(0, { code: 'HM_ERR_INGEST_BAD_JSON' }), body: s })),
    fc.constant({ ...json(0, { code: 'HM_ERR_INGEST_BAD_JSON' }), body: JSON.stringify(batch).slice(0, -1) }),
    fc
      .oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 5 }))
      .map((v) => json(v, { names: 'body' })),
    // A kind the single-kind endpoint does not take (no endpoint but collect takes the page view).
    fc.constantFrom(...Object.keys(KINDS)).map((p) => {
      const i = batch.events.findIndex((e) => !KINDS[p]!.has(e.type))
      return json(batch, { path: p, names: `events.${i}.type: ${p} takes` })
    }),
    // A media type the endpoints do not read; a body over the limit.
    fc
      .constantFrom(
        'application/xml',
        'application/x-www-form-urlencoded',
        'image/png',
        'multipart/form-data; boundary=b',
      )
      .map((contentType) =>
        json(batch, { contentType, status: 415, code: 'HM_ERR_INGEST_UNSUPPORTED_TYPE', names: undefined }),
      ),
    fc.constant({
      ...json(0, { status: 413, code: 'HM_ERR_INGEST_TOO_LARGE' }),
      body: JSON.stringify({ ...batch, pad: 'x'.repeat(600 * 1024) }),
    }),
  )
})

describe('fuzzing the ingest endpoints (fast-check, real platform)', () => {
  test('every valid batch is answered 202 and counted exactly once, however often it is sent', async () => {
    const expected = new Map<string, { totals: ReturnType<typeof expectedTotals>; sessionId: string }>()
    await fc.assert(
      fc.asyncProperty(draftArb, async (d) => {
        const { batch, page, path } = materialise(d, 'fz')
        const headers = { 'content-type': d.contentType, 'user-agent': d.userAgent }
        for (let i = 0; i < d.sends; i++) {
          const r = await send(url, path, JSON.stringify(batch), headers)
          assert.equal(r.status, 202, `${path} send ${i + 1}: ${JSON.stringify(r.body)}`)
          assert.deepEqual(r.body, { accepted: batch.events.length, dropped: 0, duplicate: i > 0 })
        }
        expected.set(page, { totals: expectedTotals(batch.events), sessionId: batch.sessionId })
      }),
      { numRuns: 40 },
    )
    const { siteKey, siteId, apiKey } = platform.demo!
    // A last click per page, sent after every copy of its batch: the page's actor applies its messages in
    // order, so once this click is counted, any duplicate sent before it would have been counted too.
    for (const [page, { sessionId }] of expected) {
      const sentinel: IngestBatch = {
        siteKey,
        batchId: `fz-end-${RUN}-${serial++}`,
        visitorId: 'v',
        sessionId,
        events: [
          { type: 'click', ts: NOW, url: `https://x.example${page}`, vw: 1, vh: 1, dw: 1, dh: 1, x: 0, y: 0 },
        ],
      }
      assert.equal((await send(url, '/v1/events/collect', sentinel)).status, 202)
    }
    for (const [page, { totals }] of expected) {
      for (const type of COUNTED) {
        const want = totals[type] + (type === 'click' ? 1 : 0)
        const got = await waitFor(
          () => heatmap(url, apiKey, siteId, { page, type }),
          (h) => h.total >= want,
        )
        assert.equal(got.total, want, `${page} ${type}`)
      }
    }
  })

  test('every invalid body gets the 4xx and code it deserves, naming the field; nothing of it is kept', async () => {
    await fc.assert(
      fc.asyncProperty(invalidArb, async (c) => {
        const r = await send(url, c.path, c.body, { 'content-type': c.contentType })
        assert.equal(r.status, c.status, `${c.path} ${c.body.slice(0, 200)} → ${JSON.stringify(r.body)}`)
        assert.equal(r.body.error?.code, c.code)
        if (c.names !== undefined) {
          assert.ok(
            r.body.error!.message.includes(c.names),
            `"${r.body.error!.message}" does not name ${c.names}`,
          )
        }
      }),
      { numRuns: 150 },
    )
    // Invalid batches each carried page views of their own pages: none of those pages exists.
    const { siteId, apiKey } = platform.demo!
    const pages = (await (
      await fetch(`${url}/v1/sites/${siteId}/pages?limit=1000`, {
        headers: { authorization: `Bearer ${apiKey}` },
      })
    ).json()) as { pages: Array<{ page: string }> }
    assert.deepEqual(
      pages.pages.filter((p) => p.page.startsWith('/fz-bad/')),
      [],
    )
  })

  test('whatever the body, content type or endpoint: never a 5xx, always a documented error', async () => {
    const bodies = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.json({ maxDepth: 4 }),
      fc
        .jsonValue({ maxDepth: 3 })
        .map((v) => JSON.stringify({ siteKey: platform.demo!.siteKey, events: [v] })),
      fc
        .record({
          extra: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
        })
        .chain(({ extra }) =>
          draftArb.map((d) => JSON.stringify({ ...materialise(d, 'fz-any').batch, ...extra })),
        ),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
    )
    await fc.assert(
      fc.asyncProperty(
        bodies,
        fc.constantFrom('/v1/events/collect', ...Object.keys(KINDS)),
        fc.constantFrom(...CONTENT_TYPES, 'application/octet-stream', 'text/html'),
        async (body, path, contentType) => {
          const r = await send(url, path, body, { 'content-type': contentType })
          assert.ok(r.status < 500, `${r.status} for ${body.slice(0, 200)}`)
          if (r.status !== 202) {
            assert.ok(r.status >= 400, String(r.status))
            assert.ok(
              r.body.error !== undefined && r.body.error.code in gatewayErrors,
              JSON.stringify(r.body),
            )
            assert.equal(r.status, gatewayErrors[r.body.error.code as keyof typeof gatewayErrors].status)
          }
        },
      ),
      { numRuns: 150 },
    )
    // Still up, and no request of the run was answered with a 5xx.
    assert.equal((await fetch(`${url}/v1/events/health`)).status, 200)
    const requests = await scrape(url, 'hm_ingest_requests_total')
    assert.ok(requests.size > 0)
    for (const [labels, n] of requests) assert.ok(!/status="5/.test(labels) || n === 0, `${labels} ${n}`)
  })
})
