import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Transport } from '@hm/runtime'
import { Registry } from 'prom-client'
import { siteByKey } from '../../src/accounts/websites.ts'
import { endpoints } from '../../src/ingest/endpoints.ts'
import { createIngestMetrics } from '../../src/ingest/metrics.ts'
import { createIngestPipeline, newContext, tagsOnly } from '../../src/ingest/steps.ts'
import { batch, click } from '../helpers/events.ts'
import { onEachDatabase, signUp } from './harness.ts'

onEachDatabase('websites', (h) => {
  test('create, read, change and delete; ingestion sees each change at once', async () => {
    const o = await signUp(h())
    const created = await h().call('POST', '/v1/sites', {
      token: o.token,
      body: {
        name: 'Shop',
        domain: 'shop.example',
        allowedOrigins: ['https://shop.example'],
        retentionDays: 90,
      },
    })
    assert.equal(created.status, 201)
    const site = created.body
    assert.match(site.siteKey, /^site_/)
    assert.deepEqual(
      [site.consentRequired, site.masking, site.ipHandling, site.retentionDays, site.urlRules],
      [false, 'standard', 'anonymize', 90, {}],
    )
    // Ingestion's cached view.
    assert.deepEqual((await siteByKey(h().pool, h().ctx.cache, site.siteKey))?.allowedOrigins, [
      'https://shop.example',
    ])

    const changed = await h().call('PATCH', `/v1/sites/${site.id}`, {
      token: o.token,
      body: {
        allowedOrigins: ['https://*.shop.example'],
        consentRequired: true,
        masking: 'strict',
        urlRules: { fragmentRoutes: false },
      },
    })
    assert.equal(changed.status, 200)
    assert.equal(changed.body.name, 'Shop')
    const seen = await siteByKey(h().pool, h().ctx.cache, site.siteKey)
    assert.deepEqual(
      [seen?.allowedOrigins, seen?.consentRequired, seen?.masking, seen?.urlRules],
      [['https://*.shop.example'], true, 'strict', { fragmentRoutes: false }],
    )
    const list = await h().call('GET', '/v1/sites', { token: o.token })
    assert.deepEqual(
      list.body.map((s: { id: string }) => s.id),
      [site.id],
    )

    assert.equal((await h().call('DELETE', `/v1/sites/${site.id}`, { token: o.token })).status, 204)
    assert.equal(await siteByKey(h().pool, h().ctx.cache, site.siteKey), undefined)
    const gone = await h().call('GET', `/v1/sites/${site.id}`, { token: o.token })
    assert.deepEqual([gone.status, gone.body.error.code], [404, 'HM_ERR_ACCOUNT_NOT_FOUND'])
  })

  test("ingestion applies the site's masking and URL rules", async () => {
    const o = await signUp(h())
    const site = (
      await h().call('POST', '/v1/sites', {
        token: o.token,
        body: { name: 'app', domain: 'app.example', masking: 'strict', urlRules: { fragmentRoutes: false } },
      })
    ).body
    const transport = {
      publish: async () => ({ seq: 1 as never, duplicate: false }),
      consumer: async () => {
        throw new Error('not used')
      },
      close: async () => {},
    } as unknown as Transport
    const pipeline = createIngestPipeline({
      transport,
      pool: h().pool,
      cache: h().ctx.cache,
      shardCount: 4,
      settings: {
        maxBodyBytes: 512 * 1024,
        rateLimitWindowMs: 60_000,
        rateLimitPerIp: 0,
        rateLimitPerSite: 0,
        countryHeader: undefined,
      },
      metrics: createIngestMetrics(new Registry()),
      now: Date.now,
      warn: () => {},
    })
    const ev = { ...click('https://app.example/shop#/cart', 10, 10), selector: 'main > a#buy.btn-primary' }
    const ctx = newContext(
      endpoints[0]!,
      JSON.stringify(batch(site.siteKey, [ev])),
      '203.0.113.9',
      {},
      Date.now(),
    )
    await pipeline.run(ctx)
    assert.deepEqual(
      ctx.accepted.map((e) => [e.page, 'selector' in e ? e.selector : undefined]),
      [['/shop', 'main > a']],
    )
  })

  test('bad settings are refused naming the field', async () => {
    const o = await signUp(h())
    const cases: Array<[unknown, RegExp]> = [
      [{ name: 'x', domain: 'x.example', retentionDays: 0 }, /retentionDays/],
      [{ name: 'x', domain: 'x.example', allowedOrigins: ['shop.example'] }, /allowedOrigins/],
      [{ name: 'x', domain: 'x.example', masking: 'none' }, /masking/],
      [{ name: 'x', domain: 'x.example', urlRules: { fragmentRoutes: 'no' } }, /fragmentRoutes/],
    ]
    for (const [body, field] of cases) {
      const r = await h().call('POST', '/v1/sites', { token: o.token, body })
      assert.equal(r.body.error.code, 'HM_ERR_ACCOUNT_BAD_REQUEST')
      assert.match(r.body.error.message, field)
    }
    const badId = await h().call('GET', '/v1/sites/not-a-uuid', { token: o.token })
    assert.equal(badId.status, 400)
  })

  test('API keys: scopes limit the key, revocation takes effect at once', async () => {
    const o = await signUp(h())
    const beyond = await h().call('POST', '/v1/api-keys', {
      token: o.token,
      body: { name: 'x', scopes: ['members:write'] },
    })
    assert.equal(beyond.body.error.code, 'HM_ERR_ACCOUNT_BAD_REQUEST')
    const k = await h().call('POST', '/v1/api-keys', {
      token: o.token,
      body: { name: 'ci', scopes: ['sites:read'] },
    })
    assert.equal(k.status, 201)
    assert.equal((await h().call('GET', '/v1/sites', { token: k.body.key })).status, 200)
    const denied = await h().call('POST', '/v1/sites', {
      token: k.body.key,
      body: { name: 'x', domain: 'x.example' },
    })
    assert.deepEqual([denied.status, denied.body.error.code], [403, 'HM_ERR_AUTH_FORBIDDEN'])
    assert.match(denied.body.error.message, /sites:write/)
    const listed = await h().call('GET', '/v1/api-keys', { token: o.token })
    const row = listed.body.find((r: { id: string }) => r.id === k.body.id)
    assert.deepEqual([row.scopes, row.createdBy, row.revokedAt], [['sites:read'], o.userId, null])
    assert.ok(row.lastUsedAt !== null)
    assert.ok(!JSON.stringify(listed.body).includes(k.body.key))
    assert.equal((await h().call('DELETE', `/v1/api-keys/${k.body.id}`, { token: o.token })).status, 204)
    const revoked = await h().call('GET', '/v1/sites', { token: k.body.key })
    assert.equal(revoked.body.error.code, 'HM_ERR_AUTH_BAD_KEY')
  })
})

test('strict masking keeps tags and positions of a selector, never ids, classes or attributes', () => {
  assert.equal(
    tagsOnly('body > div#account.card:nth-of-type(2) > a.btn.btn-primary[data-user="ann@x.example"]'),
    'body > div:nth-of-type(2) > a',
  )
  assert.equal(tagsOnly('main > ul > li:nth-child(3)'), 'main > ul > li:nth-child(3)')
})
