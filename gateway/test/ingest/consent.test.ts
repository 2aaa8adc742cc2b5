/**
 * `consentRequired` enforced by the gateway: events of a visitor without a granted consent are dropped
 * (`no_consent`, counted), kept once consent is recorded, dropped again once it is revoked or the visitor
 * deleted — with the decision cached, so PostgreSQL is asked at most once per visitor, not per batch.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import { InProcessTransport } from '@hm/runtime'
import type pg from 'pg'
import { Registry } from 'prom-client'
import { recordConsent } from '../../src/accounts/consent.ts'
import { cacheVisitorStore, postgresVisitorStore } from '../../src/accounts/visitor-stores.ts'
import { createWebsite } from '../../src/accounts/websites.ts'
import { ephemeralAuthKeys } from '../../src/auth/keys.ts'
import type { Platform } from '../../src/index.ts'
import { endpoints } from '../../src/ingest/endpoints.ts'
import { createIngestMetrics } from '../../src/ingest/metrics.ts'
import { createIngestPipeline, newContext } from '../../src/ingest/steps.ts'
import type { Cache } from '../../src/stores/cache.ts'
import { type Db, databases } from '../accounts/harness.ts'
import { batch, click, post, waitFor } from '../helpers/events.ts'
import { startTestPlatform } from '../helpers/platform.ts'
import { scrape } from './harness.ts'

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
const clicks = (n: number): WireEvent[] =>
  Array.from({ length: n }, (_, i) => click('https://shop.example/p', 10 + i, 40))

for (const d of databases) {
  describe(`the consent step (${d.name})`, () => {
    let db: Db
    let cache: Cache
    let transport: InProcessTransport
    let registry: Registry
    let run: (siteKey: string, visitorId: string, n: number) => Promise<{ accepted: number; dropped: number }>
    let sites: { strict: { id: string; siteKey: string }; open: { id: string; siteKey: string } }
    /** Consent lookups that reached PostgreSQL. */
    let lookups = 0
    const cipher = ephemeralAuthKeys().cipher
    const consent = (siteId: string, visitorId: string, granted: boolean) =>
      recordConsent(db.pool, cache, cipher, {
        siteId,
        visitorId,
        granted,
        source: 'api',
        ip: undefined,
        userAgent: undefined,
        ipHandling: 'anonymize',
      })
    const dropped = async () =>
      (await registry.getMetricsAsJSON())
        .find((m) => m.name === 'hm_ingest_dropped_total')!
        .values.find((v) => v.labels.reason === 'no_consent')!.value

    before(async () => {
      db = await d.open()
      cache = d.cache()
      transport = await InProcessTransport.open()
      const { rows } = await db.pool.query<{ id: string }>(
        "INSERT INTO organizations (name) VALUES ('consent') RETURNING id",
      )
      const orgId = rows[0]!.id
      sites = {
        strict: await createWebsite(db.pool, orgId, {
          name: 's',
          domain: 's.example',
          consentRequired: true,
        }),
        open: await createWebsite(db.pool, orgId, { name: 'o', domain: 'o.example' }),
      }
      // The real pool, counting the statements that look a consent decision up.
      const counting = {
        query: (sql: string, params: unknown[]) => {
          if (sql.includes('FROM consent_records')) lookups++
          return db.pool.query(sql, params)
        },
      } as unknown as pg.Pool
      registry = new Registry()
      const pipeline = createIngestPipeline({
        transport,
        pool: counting,
        cache,
        shardCount: 8,
        settings: {
          maxBodyBytes: 512 * 1024,
          rateLimitWindowMs: 60_000,
          rateLimitPerIp: 0,
          rateLimitPerSite: 0,
          countryHeader: undefined,
        },
        metrics: createIngestMetrics(registry),
        now: Date.now,
        warn: (err) => {
          throw err
        },
      })
      run = async (siteKey, visitorId, n) => {
        const body = JSON.stringify({ ...batch(siteKey, clicks(n)), visitorId })
        const ctx = newContext(endpoints[0]!, body, '203.0.113.9', { 'user-agent': CHROME }, Date.now())
        await pipeline.run(ctx)
        const r = ctx.result ?? { accepted: 0, dropped: ctx.dropped, duplicate: false }
        return { accepted: r.accepted, dropped: r.dropped }
      }
    })
    after(async () => {
      await transport?.close()
      await cache?.close()
      await db?.close()
    })

    test('a visitor without consent: every event dropped as no_consent, PostgreSQL asked once', async () => {
      const before = await dropped()
      for (let i = 0; i < 10; i++)
        assert.deepEqual(await run(sites.strict.siteKey, 'nobody', 3), { accepted: 0, dropped: 3 })
      assert.equal((await dropped()) - before, 30)
      assert.equal(lookups, 1, 'the "no consent" answer is cached')
    })

    test('consent recorded: kept at once, without a lookup; revoked: dropped again', async () => {
      const from = lookups
      await consent(sites.strict.id, 'alice', true)
      assert.deepEqual(await run(sites.strict.siteKey, 'alice', 4), { accepted: 4, dropped: 0 })
      await consent(sites.strict.id, 'alice', false)
      assert.deepEqual(await run(sites.strict.siteKey, 'alice', 2), { accepted: 0, dropped: 2 })
      assert.equal(lookups, from, 'recording a decision replaces the cached one')
    })

    test('a decision only PostgreSQL knows (the cache lost it) is read once, then cached', async () => {
      await consent(sites.strict.id, 'bob', true)
      await cache.del(`consent:${sites.strict.id}:bob`)
      const from = lookups
      for (let i = 0; i < 5; i++)
        assert.deepEqual(await run(sites.strict.siteKey, 'bob', 1), { accepted: 1, dropped: 0 })
      assert.equal(lookups, from + 1)
    })

    test('a site that does not require consent keeps every event without a lookup', async () => {
      const from = lookups
      assert.deepEqual(await run(sites.open.siteKey, 'nobody', 5), { accepted: 5, dropped: 0 })
      assert.equal(lookups, from)
    })

    test('deleting the visitor drops its cached grant with its records: its events are dropped at once', async () => {
      await consent(sites.strict.id, 'carol', true)
      assert.deepEqual(await run(sites.strict.siteKey, 'carol', 1), { accepted: 1, dropped: 0 })
      const erased = {
        postgres: await postgresVisitorStore(db.pool, cipher).erase(sites.strict.id, 'carol'),
        cache: await cacheVisitorStore(cache).erase(sites.strict.id, 'carol'),
      }
      assert.deepEqual(erased, { postgres: { consentRecords: 1 }, cache: { consentDecision: 1 } })
      assert.deepEqual(await run(sites.strict.siteKey, 'carol', 2), { accepted: 0, dropped: 2 })
    })
  })
}

describe('consent on the platform: a consentRequired site', () => {
  let platform: Platform
  let stop: () => Promise<void>
  let token: string
  let site: { id: string; siteKey: string }
  const api = async (
    method: string,
    path: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: answers of every route's shape, read by the tests
  ): Promise<{ status: number; body: any }> => {
    const r = await fetch(`${platform.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await r.text()
    return { status: r.status, body: text === '' ? undefined : JSON.parse(text) }
  }
  const send = async (visitorId: string, n: number) => {
    const r = await post(
      platform.url,
      { ...batch(site.siteKey, clicks(n)), visitorId, sessionId: `${visitorId}-s` },
      { 'user-agent': CHROME, origin: 'https://shop.example' },
    )
    assert.equal(r.status, 202)
    return (await r.json()) as { accepted: number; dropped: number }
  }
  const storedEvents = async (visitorId: string) =>
    (await api('GET', `/v1/sites/${site.id}/visitors/${visitorId}`)).body.stores.clickhouse.events
      .length as number

  before(async () => {
    ;({ platform, stop } = await startTestPlatform())
    const demo = platform.demo!
    token = (await api('POST', '/v1/auth/login', { email: demo.email, password: demo.password })).body
      .accessToken
    site = (await api('POST', '/v1/sites', { name: 'strict', domain: 'shop.example', consentRequired: true }))
      .body
  })
  after(async () => {
    await stop?.()
  })

  test('events before consent are dropped and counted, after the SDK posts consent they are kept', async () => {
    const before = (await scrape(platform.url, 'hm_ingest_dropped_total')).get('reason="no_consent"') ?? 0
    assert.deepEqual(await send('erin', 3), { accepted: 0, dropped: 3, duplicate: false })
    const granted = await fetch(`${platform.url}/v1/consent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://shop.example' },
      body: JSON.stringify({ siteKey: site.siteKey, visitorId: 'erin', granted: true }),
    })
    assert.equal(granted.status, 204)
    assert.deepEqual(await send('erin', 2), { accepted: 2, dropped: 0, duplicate: false })
    assert.equal(
      (await scrape(platform.url, 'hm_ingest_dropped_total')).get('reason="no_consent"'),
      before + 3,
    )
    await waitFor(
      () => storedEvents('erin'),
      (n) => n === 2,
    )
    // Revoked (from the site's own systems): dropped again at once.
    assert.equal(
      (await api('POST', `/v1/sites/${site.id}/consent`, { visitorId: 'erin', granted: false })).status,
      204,
    )
    assert.deepEqual(await send('erin', 1), { accepted: 0, dropped: 1, duplicate: false })
    // Turning the requirement off keeps everyone's events.
    assert.equal((await api('PATCH', `/v1/sites/${site.id}`, { consentRequired: false })).status, 200)
    assert.deepEqual(await send('erin', 1), { accepted: 1, dropped: 0, duplicate: false })
    const stored = await waitFor(
      () => storedEvents('erin'),
      (n) => n >= 3,
    )
    assert.equal(stored, 3, 'the kept events are stored, the dropped ones never')
  })
})
