import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import type { Platform } from '../src/index.ts'
import { batch, click, heatmap, post, waitFor } from './helpers/events.ts'
import { startTestPlatform } from './helpers/platform.ts'

let platform: Platform
let stop: (() => Promise<void>) | undefined

before(async () => {
  ;({ platform, stop } = await startTestPlatform())
})
after(async () => {
  await stop?.()
})

describe('the embedded platform, end to end', () => {
  test('N clicks over HTTP come back as exactly the expected cells, total N', async () => {
    const { siteKey, siteId, apiKey } = platform.demo!
    const base = 'https://shop.example/pricing?utm_source=x#top'
    // 3 spots on /pricing: (640,100) ×50, (0,0) ×30, (1279,2999) ×20; and 25 on /blog which must not mix in.
    const spots: Array<[number, number, number]> = [
      [640, 100, 50],
      [0, 0, 30],
      [1279, 2999, 20],
    ]
    const events = spots.flatMap(([x, y, n]) => Array.from({ length: n }, () => click(base, x, y)))
    const blog = Array.from({ length: 25 }, () => click('https://shop.example/blog/', 10, 10))
    const all = [...events, ...blog]
    for (let i = 0; i < all.length; i += 40) {
      const r = await post(platform.url, batch(siteKey, all.slice(i, i + 40)))
      assert.equal(r.status, 202, await r.text())
    }
    const got = await waitFor(
      () => heatmap(platform.url, apiKey, siteId, { page: '/pricing', type: 'click' }),
      (h) => h.total >= 100,
    )
    assert.equal(got.total, 100)
    // x: 640/1280 of 128 columns = 64; y: 100 px / 16 px bands = 6. The last column/band hold the edge.
    assert.deepEqual(got.cells, [
      [0, 0, 30],
      [64, 6, 50],
      [127, 187, 20],
    ])
    const blogMap = await waitFor(
      () => heatmap(platform.url, apiKey, siteId, { page: '/blog', type: 'click' }),
      (h) => h.total >= 25,
    )
    // 10/1280 of 128 columns = column 1.
    assert.deepEqual(blogMap.cells, [[1, 0, 25]])
  })

  test('/metrics shows the actor runtime per actor type', async () => {
    const { siteKey } = platform.demo!
    const r = await post(platform.url, batch(siteKey, [click('https://shop.example/metrics', 5, 5)]))
    assert.equal(r.status, 202)
    await platform.runtime!.flushNow()
    const text = await waitFor(
      async () => (await fetch(`${platform.url}/metrics`)).text(),
      (t) => /hm_runtime_turns_total\{type="page"\} [1-9]/.test(t),
    )
    assert.match(text, /# TYPE hm_runtime_handler_seconds histogram/)
    assert.match(text, /hm_runtime_handler_seconds_bucket\{le="\+Inf",type="page"\} \d+/)
    assert.match(text, /hm_runtime_active_actors\{type="page"\} [1-9]/)
    assert.match(text, /hm_runtime_mailbox_depth \d+/)
  })

  test('a batch sent twice with the same id is counted once', async () => {
    const { siteKey, siteId, apiKey } = platform.demo!
    const b = batch(
      siteKey,
      Array.from({ length: 7 }, () => click('https://shop.example/retry', 100, 100)),
    )
    const first = await post(platform.url, b)
    const second = await post(platform.url, b)
    assert.equal(first.status, 202)
    assert.equal(second.status, 202)
    assert.equal(((await second.json()) as { duplicate: boolean }).duplicate, true)
    await platform.runtime!.flushNow()
    const h = await waitFor(
      () => heatmap(platform.url, apiKey, siteId, { page: '/retry', type: 'click' }),
      (v) => v.total >= 7,
    )
    await new Promise((r) => setTimeout(r, 300))
    assert.equal((await heatmap(platform.url, apiKey, siteId, { page: '/retry', type: 'click' })).total, 7)
    assert.equal(h.total, 7)
  })

  test('bad input gets a 4xx naming what was wrong; nothing accepted is lost', async () => {
    const { siteKey } = platform.demo!
    const bad = batch(siteKey, [{ ...click('https://a.example/', 1, 1), x: -5 } as WireEvent])
    const r1 = await post(platform.url, bad)
    assert.equal(r1.status, 400)
    const e1 = (await r1.json()) as { error: { code: string; message: string } }
    assert.equal(e1.error.code, 'HM_ERR_INGEST_BAD_BATCH')
    assert.match(e1.error.message, /events\.0\.x: Expected integer to be greater or equal to 0/)
    const r1b = await post(
      platform.url,
      batch(siteKey, [{ ...click('https://a.example/', 1, 1), type: 'tap' } as never]),
    )
    assert.match(
      ((await r1b.json()) as { error: { message: string } }).error.message,
      /events\.0\.type: must be one of/,
    )

    const r2 = await post(platform.url, '{"siteKey": ', { 'content-type': 'text/plain' })
    assert.equal(r2.status, 400)
    assert.equal(((await r2.json()) as { error: { code: string } }).error.code, 'HM_ERR_INGEST_BAD_JSON')

    const r3 = await post(platform.url, batch('unknown_site_key', [click('https://a.example/', 1, 1)]))
    assert.equal(r3.status, 404)
    assert.equal(((await r3.json()) as { error: { code: string } }).error.code, 'HM_ERR_INGEST_UNKNOWN_SITE')

    const r4 = await post(platform.url, 'x'.repeat(600 * 1024))
    assert.equal(r4.status, 413)
  })

  test('the query API refuses missing or unknown keys and other organisations’ sites', async () => {
    const { siteId, apiKey } = platform.demo!
    const noKey = await fetch(`${platform.url}/v1/sites/${siteId}/heatmap?page=/&type=click`)
    assert.equal(noKey.status, 401)
    const badKey = await fetch(`${platform.url}/v1/sites/${siteId}/heatmap?page=/&type=click`, {
      headers: { authorization: 'Bearer hm_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    })
    assert.equal(badKey.status, 401)
    const otherSite = await fetch(
      `${platform.url}/v1/sites/00000000-0000-4000-8000-000000000000/heatmap?page=/&type=click`,
      { headers: { authorization: `Bearer ${apiKey}` } },
    )
    assert.equal(otherSite.status, 404)
    const inverted = await fetch(
      `${platform.url}/v1/sites/${siteId}/heatmap?page=/&type=click&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z`,
      { headers: { authorization: `Bearer ${apiKey}` } },
    )
    assert.equal(inverted.status, 400)
    assert.match(((await inverted.json()) as { error: { message: string } }).error.message, /from/)
    const badType = await fetch(`${platform.url}/v1/sites/${siteId}/heatmap?page=/&type=nope`, {
      headers: { authorization: `Bearer ${apiKey}` },
    })
    assert.equal(badType.status, 400)
  })
})
