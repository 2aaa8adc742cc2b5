/**
 * Consent in real headless Chromium against the embedded platform, on a website that requires it: the
 * SDK sends nothing before the page grants consent, then posts the grant to `/v1/consent` and only once
 * the gateway has recorded it sends events (which the gateway keeps: the grant is there before them).
 * Revoking posts `granted: false` and stops capture. Every request the SDK makes goes through the
 * harness's recording proxy.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { type Harness, type Recorded, startHarness, until } from './harness.ts'

let h: Harness
let token: string
let site: { id: string; siteKey: string }

// biome-ignore lint/suspicious/noExplicitAny: answers of every route's shape, read by the tests
async function api(method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(`${h.platform.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  const text = await r.text()
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`)
  return text === '' ? undefined : JSON.parse(text)
}

before(async () => {
  h = await startHarness()
  const demo = h.platform.demo!
  token = (await api('POST', '/v1/auth/login', { email: demo.email, password: demo.password })).accessToken
  site = await api('POST', '/v1/sites', {
    name: 'consenting',
    domain: 'consent.example',
    consentRequired: true,
  })
})
after(async () => {
  await h?.stop()
})

interface ConsentPost {
  siteKey: string
  visitorId: string
  granted: boolean
}
const consentPosts = (from: number): ConsentPost[] =>
  h.recorded
    .slice(from)
    .filter((r) => r.path === '/v1/consent')
    .map((r) => JSON.parse(r.body) as ConsentPost)
const eventRequests = (from: number): Recorded[] =>
  h.recorded.slice(from).filter((r) => r.path.startsWith('/v1/events/'))
const flush = (page: Page) => page.evaluate(() => window.hm!.flush())
/** Lets the page's timers and listeners run; no assertion depends on how long this takes. */
const settle = (page: Page, ms = 1500) => page.waitForTimeout(ms)

describe('consent in headless Chromium, on a site that requires it', () => {
  test('nothing leaves before consent; the grant is posted first, then the events, which are kept', async () => {
    const url = h.page(
      '/consent-required',
      `<!doctype html><html><head><meta charset="utf-8"><title>c</title>
<script src="${h.platform.url}/sdk/hm.js" data-site="${site.siteKey}" data-endpoint="${h.proxyEndpoint}"
  data-consent-required="true" defer></script></head>
<body style="margin:0"><div style="height:3000px">content</div></body></html>`,
    )
    const ctx = await h.context()
    const from = h.recorded.length
    const page = await ctx.newPage()
    await page.goto(url)
    await page.waitForFunction(() => window.hm?.stats !== undefined)
    await page.mouse.click(200, 200)
    await page.mouse.wheel(0, 600)
    await flush(page)
    await settle(page)
    assert.deepEqual(h.recorded.slice(from), [], 'a request left before consent')
    assert.equal(
      await page.evaluate(() => localStorage.getItem('hm_vid')),
      null,
      'no visitor id before consent',
    )

    await page.evaluate(() => window.hm!.consent(true))
    await page.mouse.click(640, 400)
    await flush(page)
    await until(
      () => eventRequests(from).flatMap((r) => r.batch?.events ?? []),
      (evs) => evs.some((e) => e.type === 'click'),
    )
    const vid = await page.evaluate(() => localStorage.getItem('hm_vid'))
    assert.ok(vid)
    assert.deepEqual(consentPosts(from), [{ siteKey: site.siteKey, visitorId: vid, granted: true }])
    const firstEvents = h.recorded.findIndex((r, i) => i >= from && r.path.startsWith('/v1/events/'))
    const consentAt = h.recorded.findIndex((r, i) => i >= from && r.path === '/v1/consent')
    assert.ok(consentAt < firstEvents, 'the grant went before any event')
    assert.ok(eventRequests(from).every((r) => r.batch?.visitorId === vid))

    // The gateway kept them (a site requiring consent drops the events of visitors without a grant).
    const stored = await until(
      async () => (await api('GET', `/v1/sites/${site.id}/visitors/${vid}`)).stores,
      (s) =>
        s.clickhouse.events.some((e: { type: string }) => e.type === 'click') &&
        s.clickhouse.events.some((e: { type: string }) => e.type === 'pageview'),
    )
    assert.deepEqual(
      stored.postgres.consentRecords.map((r: { granted: boolean; source: string }) => [r.source, r.granted]),
      [['sdk', true]],
    )
    assert.ok(
      stored.clickhouse.events.every(
        (e: { x: number; y: number; type: string }) => e.type !== 'click' || e.x === 640,
      ),
      'the click before consent is nowhere',
    )

    // Another page of the visit: the grant is not posted again, events flow at once. The first page goes
    // first (its last events leave by beacon).
    const next = await ctx.newPage()
    await page.close({ runBeforeUnload: true })
    await settle(next)
    const mark = h.recorded.length
    await next.goto(url)
    await next.waitForFunction(() => window.hm?.stats !== undefined)
    await next.evaluate(() => window.hm!.consent(true))
    await next.mouse.click(300, 300)
    await flush(next)
    await until(
      () => eventRequests(mark).flatMap((r) => r.batch?.events ?? []),
      (evs) => evs.some((e) => e.type === 'click'),
    )
    assert.deepEqual(consentPosts(mark), [])

    // Revoked: recorded as granted=false for the same visitor id, then nothing more leaves.
    const revokedAt = h.recorded.length
    await next.evaluate(() => window.hm!.consent(false))
    await until(
      () => consentPosts(revokedAt),
      (p) => p.length > 0,
    )
    assert.deepEqual(consentPosts(revokedAt), [{ siteKey: site.siteKey, visitorId: vid, granted: false }])
    await next.mouse.click(700, 500)
    await flush(next)
    await settle(next)
    await next.close({ runBeforeUnload: true })
    assert.deepEqual(eventRequests(revokedAt), [], 'an event left after consent was revoked')
    const records = (await api('GET', `/v1/sites/${site.id}/visitors/${vid}`)).stores.postgres.consentRecords
    assert.deepEqual(
      records.map((r: { granted: boolean }) => r.granted),
      [true, false],
    )
    await ctx.close()
  })
})
