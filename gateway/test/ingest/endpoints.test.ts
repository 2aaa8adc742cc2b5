import assert from 'node:assert/strict'
import { randomBytes, randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import pg from 'pg'
import type { Platform } from '../../src/index.ts'
import { heatmap, waitFor } from '../helpers/events.ts'
import { scrape, send, startTestPlatform } from './harness.ts'

// Real PostgreSQL (websites with allow-lists are inserted directly: there is no management API yet).
const admin = 'postgres://postgres@127.0.0.1:5432/postgres'
const database = `hm_ingest_${process.pid}_${randomBytes(3).toString('hex')}`
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'

let platform: Platform
let stop: () => Promise<void>
let db: pg.Client
let url: string

before(async () => {
  const c = new pg.Client(admin)
  await c.connect()
  await c.query(`CREATE DATABASE ${database}`)
  await c.end()
  ;({ platform, stop } = await startTestPlatform({
    HM_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
    // X-Forwarded-For from the test gives each test its own client address.
    HM_TRUST_PROXY_HOPS: '1',
    HM_RATE_LIMIT_PER_IP: '5',
    HM_RATE_LIMIT_PER_SITE: '8',
  }))
  url = platform.url
  db = new pg.Client(`postgres://postgres@127.0.0.1:5432/${database}`)
  await db.connect()
})
after(async () => {
  await db?.end()
  await stop?.()
  const c = new pg.Client(admin)
  await c.connect()
  await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await c.end()
})

/** A website of the demo organisation (so the demo API key reads it), with its own key and allow-list. */
async function website(allowedOrigins: string[] = []): Promise<{ siteId: string; siteKey: string }> {
  const siteKey = `t_${randomBytes(8).toString('hex')}`
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO websites (org_id, name, domain, site_key, allowed_origins)
     VALUES ($1, 'test', 'shop.example', $2, $3) RETURNING id`,
    [platform.demo!.orgId, siteKey, allowedOrigins],
  )
  return { siteId: rows[0]!.id, siteKey }
}

let ipCounter = 1
/** A client address of its own (another /24 each time), sent through the trusted proxy header. */
function client(extra: Record<string, string> = {}): Record<string, string> {
  ipCounter++
  return { 'x-forwarded-for': `10.${ipCounter >> 8}.${ipCounter & 255}.7`, 'user-agent': CHROME, ...extra }
}

function base(type: WireEvent['type'], path: string) {
  return {
    type,
    ts: Date.now() - 1000,
    url: `https://shop.example${path}`,
    vw: 1280,
    vh: 800,
    dw: 1280,
    dh: 4000,
  }
}
const ev = {
  pageview: (p: string) => ({ ...base('pageview', p) }) as WireEvent,
  click: (p: string, x = 640, y = 100) => ({ ...base('click', p), x, y, selector: '#cta' }) as WireEvent,
  rage: (p: string) => ({ ...base('rage', p), x: 10, y: 10, count: 4 }) as WireEvent,
  dead: (p: string) => ({ ...base('dead', p), x: 20, y: 20 }) as WireEvent,
  move: (p: string) => ({ ...base('move', p), x: 30, y: 30, rest: 800 }) as WireEvent,
  scroll: (p: string) => ({ ...base('scroll', p), depth: 1600 }) as WireEvent,
  attention: (p: string) => ({ ...base('attention', p), band0: 2, ms: [100, 250, 0, 50] }) as WireEvent,
}

function batch(siteKey: string, events: WireEvent[]) {
  return {
    siteKey,
    batchId: randomUUID().replaceAll('-', ''),
    visitorId: 'v1',
    sessionId: randomUUID(),
    events,
  }
}

async function total(siteId: string, page: string, type: string, atLeast: number): Promise<number> {
  const h = await waitFor(
    () => heatmap(url, platform.demo!.apiKey, siteId, { page, type }),
    (v) => v.total >= atLeast,
  )
  return h.total
}

describe('ingest endpoints on the running platform', () => {
  test('each single-kind endpoint takes its kinds, and their counts arrive', async () => {
    const { siteId, siteKey } = await website()
    const p = '/kinds'
    const headers = client()
    const r1 = await send(
      url,
      '/v1/events/click',
      batch(siteKey, [ev.click(p), ev.click(p), ev.rage(p), ev.dead(p)]),
      headers,
    )
    assert.equal(r1.status, 202, JSON.stringify(r1.body))
    assert.deepEqual(r1.body, { accepted: 4, dropped: 0, duplicate: false })
    const r2 = await send(url, '/v1/events/scroll', batch(siteKey, [ev.scroll(p), ev.attention(p)]), headers)
    assert.equal(r2.status, 202, JSON.stringify(r2.body))
    const r3 = await send(
      url,
      '/v1/events/mouse',
      batch(siteKey, [ev.move(p), ev.move(p), ev.move(p)]),
      headers,
    )
    assert.equal(r3.status, 202, JSON.stringify(r3.body))

    assert.equal(await total(siteId, p, 'click', 2), 2)
    assert.equal(await total(siteId, p, 'rage', 1), 1)
    assert.equal(await total(siteId, p, 'dead', 1), 1)
    assert.equal(await total(siteId, p, 'move', 3), 3)
    assert.equal(await total(siteId, p, 'attention', 400), 400)
    assert.ok((await total(siteId, p, 'scroll', 1)) >= 1)
  })

  test('a single-kind endpoint refuses other kinds, naming the event', async () => {
    const { siteKey } = await website()
    const headers = client()
    for (const [path, events, index, kinds] of [
      ['/v1/events/click', [ev.click('/x'), ev.move('/x')], 1, 'click, rage, dead'],
      ['/v1/events/scroll', [ev.pageview('/x')], 0, 'scroll, attention'],
      ['/v1/events/mouse', [ev.move('/x'), ev.move('/x'), ev.click('/x')], 2, 'move'],
    ] as const) {
      const r = await send(url, path, batch(siteKey, [...events]), headers)
      assert.equal(r.status, 400)
      assert.equal(r.body.error?.code, 'HM_ERR_INGEST_BAD_BATCH')
      assert.equal(
        r.body.error?.message.includes(`events.${index}.type: ${path} takes ${kinds}`),
        true,
        r.body.error?.message,
      )
    }
  })

  test('a text/plain body (what sendBeacon sends) is taken; other media types are refused with 415', async () => {
    const { siteId, siteKey } = await website()
    const headers = client()
    const r = await send(
      url,
      '/v1/events/collect',
      JSON.stringify(batch(siteKey, [ev.pageview('/beacon')])),
      {
        ...headers,
        'content-type': 'text/plain;charset=UTF-8',
      },
    )
    assert.equal(r.status, 202)
    assert.equal(await total(siteId, '/beacon', 'pageview', 1), 1)
    for (const type of [
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
    ]) {
      const bad = await send(url, '/v1/events/collect', 'a=1', { ...headers, 'content-type': type })
      assert.equal(bad.status, 415, type)
      assert.equal(bad.body.error?.code, 'HM_ERR_INGEST_UNSUPPORTED_TYPE')
    }
  })

  test('site key: 401 when missing, 404 when unknown', async () => {
    const headers = client()
    const { siteKey: _, ...noKey } = batch('x', [ev.click('/k')])
    const r1 = await send(url, '/v1/events/collect', noKey, headers)
    assert.equal(r1.status, 401)
    assert.equal(r1.body.error?.code, 'HM_ERR_INGEST_NO_SITE_KEY')
    const r2 = await send(url, '/v1/events/click', batch('no_such_site_key', [ev.click('/k')]), headers)
    assert.equal(r2.status, 404)
    assert.equal(r2.body.error?.code, 'HM_ERR_INGEST_UNKNOWN_SITE')
  })

  test("the website's Origin allow-list: 403 outside it, 202 inside (exact or wildcard)", async () => {
    const { siteKey } = await website(['https://shop.example', 'https://*.shop.example'])
    const headers = client()
    const denied = await send(url, '/v1/events/collect', batch(siteKey, [ev.click('/o')]), {
      ...headers,
      origin: 'https://evil.example',
    })
    assert.equal(denied.status, 403)
    assert.equal(denied.body.error?.code, 'HM_ERR_INGEST_ORIGIN_DENIED')
    assert.match(denied.body.error!.message, /https:\/\/evil\.example/)
    for (const origin of ['https://shop.example', 'https://de.shop.example']) {
      const ok = await send(url, '/v1/events/collect', batch(siteKey, [ev.click('/o')]), {
        ...headers,
        origin,
      })
      assert.equal(ok.status, 202, origin)
    }
  })

  test('rate limits: 429 with Retry-After per client address, and per website', async () => {
    const { siteKey } = await website()
    const headers = client()
    const answers: number[] = []
    for (let i = 0; i < 7; i++) {
      answers.push((await send(url, '/v1/events/collect', batch(siteKey, [ev.click('/r')]), headers)).status)
    }
    assert.deepEqual(answers, [202, 202, 202, 202, 202, 429, 429])
    const limited = await send(url, '/v1/events/collect', batch(siteKey, [ev.click('/r')]), headers)
    assert.equal(limited.body.error?.code, 'HM_ERR_INGEST_RATE_LIMITED')
    assert.match(limited.body.error!.message, /5 requests per 60 s from one client address/)
    const wait = Number(limited.headers.get('retry-after'))
    assert.ok(wait >= 1 && wait <= 60, `Retry-After ${wait}`)
    // The same client's neighbour in its /24 shares its (anonymised) address and its limit.
    const neighbour = { ...headers, 'x-forwarded-for': headers['x-forwarded-for']!.replace(/\.7$/, '.8') }
    assert.equal(
      (await send(url, '/v1/events/collect', batch(siteKey, [ev.click('/r')]), neighbour)).status,
      429,
    )

    // Per website: 8 in the window, whoever sends them.
    const busy = await website()
    const statuses: number[] = []
    for (let i = 0; i < 10; i++) {
      statuses.push(
        (await send(url, '/v1/events/collect', batch(busy.siteKey, [ev.click('/r')]), client())).status,
      )
    }
    assert.deepEqual(statuses, [202, 202, 202, 202, 202, 202, 202, 202, 429, 429])
  })

  test('do-not-track, bots and impossible paces are dropped and counted by reason, never stored', async () => {
    const { siteId, siteKey } = await website()
    const p = '/dropped'
    const before = await scrape(url, 'hm_ingest_dropped_total')
    const headless =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36'
    const cases: Array<[Record<string, string>, WireEvent[], string]> = [
      [client({ dnt: '1' }), [ev.click(p)], 'do_not_track'],
      [client({ 'sec-gpc': '1' }), [ev.click(p), ev.click(p)], 'do_not_track'],
      [client({ 'user-agent': headless }), [ev.click(p)], 'bot_user_agent'],
      [client(), Array.from({ length: 30 }, () => ev.click(p)), 'bot_behaviour'],
    ]
    for (const [headers, events] of cases) {
      const r = await send(url, '/v1/events/collect', batch(siteKey, events), headers)
      assert.equal(r.status, 202)
      assert.deepEqual(r.body, { accepted: 0, dropped: events.length, duplicate: false })
    }
    const after = await scrape(url, 'hm_ingest_dropped_total')
    const delta = (reason: string) =>
      (after.get(`reason="${reason}"`) ?? 0) - (before.get(`reason="${reason}"`) ?? 0)
    assert.equal(delta('do_not_track'), 3)
    assert.equal(delta('bot_user_agent'), 1)
    assert.equal(delta('bot_behaviour'), 30)
    // A kept click on the same page, sent after them: once it is counted, nothing dropped came along.
    assert.equal((await send(url, '/v1/events/collect', batch(siteKey, [ev.click(p)]), client())).status, 202)
    assert.equal(await total(siteId, p, 'click', 1), 1)
  })

  test('CORS: answers carry Access-Control-Allow-Origin; a preflight is answered', async () => {
    const { siteKey } = await website()
    const ok = await send(url, '/v1/events/collect', batch(siteKey, [ev.click('/c')]), client())
    assert.equal(ok.headers.get('access-control-allow-origin'), '*')
    const bad = await send(url, '/v1/events/collect', '{', client())
    assert.equal(bad.status, 400)
    assert.equal(bad.headers.get('access-control-allow-origin'), '*')
    const pre = await fetch(`${url}/v1/events/collect`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })
    assert.equal(pre.status, 204)
    assert.equal(pre.headers.get('access-control-allow-origin'), '*')
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/)
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /content-type/)
  })

  test('GET /v1/events/health', async () => {
    const r = await fetch(`${url}/v1/events/health`)
    assert.equal(r.status, 200)
    assert.deepEqual(await r.json(), { status: 'ok' })
  })

  test('/metrics: step timings by step, requests by endpoint and status, process metrics', async () => {
    const steps = await scrape(url, 'hm_ingest_step_duration_seconds_count')
    for (const step of ['anonymise_ip', 'size', 'parse', 'validate', 'site', 'origin', 'scrub', 'publish']) {
      assert.ok((steps.get(`step="${step}"`) ?? 0) > 0, `no timings for ${step}`)
    }
    const requests = await scrape(url, 'hm_ingest_requests_total')
    assert.ok((requests.get('endpoint="click",status="202"') ?? 0) >= 1)
    assert.ok((requests.get('endpoint="collect",status="429"') ?? 0) >= 1)
    assert.ok((requests.get('endpoint="collect",status="415"') ?? 0) >= 1)
    const res = await fetch(`${url}/metrics`)
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/)
    assert.match(await res.text(), /^process_cpu_user_seconds_total /m)
  })
})
