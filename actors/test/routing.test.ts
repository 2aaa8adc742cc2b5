import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { shardOf } from '@hm/runtime'
import {
  decodePageMessage,
  decodeSessionMessage,
  PAGE_ACTOR,
  type PageMessage,
  pageActorKey,
  routeBatch,
  SESSION_ACTOR,
  type SessionMessage,
  sessionActorKey,
} from '../src/index.ts'
import { click, pageview, scroll } from './helpers/events.ts'
import { accepted, decodeEnvelopes } from './helpers/pipeline.ts'

const ctx = {
  siteId: 'site1',
  visitorId: 'v1',
  sessionId: 'sess1',
  device: 'mobile',
  browser: 'Safari',
  os: 'iOS',
  country: 'FR',
}

function envelopes(payloads: ReturnType<typeof routeBatch>) {
  return payloads.flatMap((p) =>
    decodeEnvelopes(p.data).map(([type, key, bytes]) => ({
      shard: p.shard,
      type,
      key,
      m:
        type === PAGE_ACTOR
          ? decodePageMessage(bytes as Uint8Array)
          : decodeSessionMessage(bytes as Uint8Array),
    })),
  )
}

describe('routing a batch', () => {
  test('page events go to their page actor, every event to the session actor, each on its own shard', () => {
    const events = [
      pageview('/a'),
      click('/a', 1, 1),
      scroll('/a', 900),
      pageview('/b?x=1'),
      click('/b', 2, 2),
    ].map(accepted)
    const envs = envelopes(routeBatch(ctx, events, 64))
    const pages = envs.filter((e) => e.type === PAGE_ACTOR)
    assert.deepEqual(pages.map((e) => e.key).sort(), [
      pageActorKey('site1', '/a'),
      pageActorKey('site1', '/b'),
    ])
    for (const p of pages) assert.equal(p.shard, shardOf(PAGE_ACTOR, p.key, 64))
    const a = pages.find((e) => e.key === pageActorKey('site1', '/a'))!.m as PageMessage
    // Scroll depth is per page view: only the session actor can count it once.
    assert.deepEqual(
      a.events.map((e) => e.type),
      ['pageview', 'click'],
    )
    assert.equal('url' in a.events[0]!, false)
    assert.deepEqual([a.device, a.country], ['mobile', 'FR'])
    const [session] = envs.filter((e) => e.type === SESSION_ACTOR)
    assert.equal(session!.key, sessionActorKey('site1', 'sess1'))
    assert.equal(session!.shard, shardOf(SESSION_ACTOR, session!.key, 64))
    const sm = session!.m as SessionMessage
    assert.deepEqual(
      sm.events.map((e) => [e.type, e.page]),
      [
        ['pageview', '/a'],
        ['click', '/a'],
        ['scroll', '/a'],
        ['pageview', '/b'],
        ['click', '/b'],
      ],
    )
    assert.deepEqual(
      [sm.visitorId, sm.device, sm.browser, sm.os, sm.country],
      ['v1', 'mobile', 'Safari', 'iOS', 'FR'],
    )
  })

  test('a retried batch maps to the same messages', () => {
    const events = [pageview('/a'), click('/a', 1, 1), click('/c', 1, 1)].map(accepted)
    const one = routeBatch(ctx, events, 16, { pageSplits: 4 })
    const two = routeBatch(ctx, events, 16, { pageSplits: 4 })
    assert.deepEqual(one, two)
  })

  test('a hot page split by session spreads over shards; one session stays on one split', () => {
    const events = [click('/hot', 1, 1)].map(accepted)
    const keys = new Set<string>()
    const shards = new Set<number>()
    for (let i = 0; i < 200; i++) {
      const envs = envelopes(routeBatch({ ...ctx, sessionId: `s${i}` }, events, 64, { pageSplits: 8 }))
      const page = envs.filter((e) => e.type === PAGE_ACTOR)
      assert.equal(page.length, 1)
      keys.add(page[0]!.key)
      shards.add(page[0]!.shard)
      const again = envelopes(routeBatch({ ...ctx, sessionId: `s${i}` }, events, 64, { pageSplits: 8 }))
      assert.equal(again.find((e) => e.type === PAGE_ACTOR)!.key, page[0]!.key)
    }
    assert.equal(keys.size, 8)
    assert.ok(shards.size >= 6, `${shards.size} shards`)
    // Split 0 keeps the unsplit key, so turning splits on keeps a page's first actor where it was.
    assert.ok(keys.has(pageActorKey('site1', '/hot')))
    const unsplit = envelopes(routeBatch(ctx, events, 64)).filter((e) => e.type === PAGE_ACTOR)
    assert.deepEqual(
      unsplit.map((e) => e.key),
      [pageActorKey('site1', '/hot')],
    )
  })
})
