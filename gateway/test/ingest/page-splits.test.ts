import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { PAGE_ACTOR, pageActorKey } from '@hm/actors'
import type { Platform } from '../../src/index.ts'
import { batch, click, heatmap, post, waitFor } from '../helpers/events.ts'
import { startTestPlatform } from '../helpers/platform.ts'

const SPLITS = 4
let platform: Platform
let stop: (() => Promise<void>) | undefined

before(async () => {
  ;({ platform, stop } = await startTestPlatform({ HM_PAGE_SPLITS: String(SPLITS) }))
})
after(async () => {
  await stop?.()
})

test('a page split by session spreads over several page actors, and its heatmap counts every click once', async () => {
  const { siteKey, siteId, apiKey } = platform.demo!
  const sessions = 24
  for (let s = 0; s < sessions; s++) {
    const events = Array.from({ length: 5 }, (_, i) => click('https://demo.example/hot', 100 + i, 200))
    const r = await post(platform.url, { ...batch(siteKey, events), sessionId: `split-${s}` })
    assert.equal(r.status, 202)
  }
  const total = sessions * 5
  // Fresh to the second: the unflushed cells of every split are merged in, never counted twice.
  const live = await waitFor(
    () => heatmap(platform.url, apiKey, siteId, { page: '/hot', type: 'click' }),
    (h) => h.total >= total,
  )
  assert.equal(live.total, total)
  await platform.runtime!.flushNow()
  const stored = await waitFor(
    () => heatmap(platform.url, apiKey, siteId, { page: '/hot', type: 'click', live: 'false' }),
    (h) => h.total >= total,
  )
  assert.equal(stored.total, total)
  const keys = Array.from({ length: SPLITS }, (_, i) => pageActorKey(siteId, '/hot', i))
  const active = (await platform.runtime!.listActors(10_000)).filter(
    (a) => a.type === PAGE_ACTOR && keys.includes(a.key),
  )
  assert.ok(active.length > 1, `the page's clicks went to ${active.length} page actor(s)`)
})
