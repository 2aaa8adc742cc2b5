/**
 * A visitor deletion reaches the live actors: sessions held only in memory (applied, not flushed) or not
 * even applied (queued in the transport) are erased too, and nothing of the visitor is written after.
 * The platform flushes only when the test says so (`flushNow`; the interval is a minute), so the
 * visitor's newest events are still in the session actors' memory when the deletion is asked for.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { SESSION_ACTOR, type SessionAskTimeline, type SessionRow, sessionActorKey } from '@hm/actors'
import { shardId } from '@hm/runtime'
import type { Platform } from '../../src/index.ts'
import { batch, click, post, waitFor } from '../helpers/events.ts'
import { startTestPlatform } from '../helpers/platform.ts'

const SHARDS = 16

describe('deleting a visitor erases its live session actors', () => {
  let platform: Platform
  let stop: () => Promise<void>
  let token: string
  let siteId: string
  let siteKey: string

  const api = async (
    method: string,
    path: string,
    body?: unknown,
    // biome-ignore lint/suspicious/noExplicitAny: answers of every route's shape, read by the tests
  ): Promise<{ status: number; body: any }> => {
    const r = await fetch(`${platform.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
    const text = await r.text()
    return { status: r.status, body: text === '' ? undefined : JSON.parse(text) }
  }
  const send = async (visitorId: string, sessionId: string, xs: number[]) => {
    const b = {
      ...batch(
        siteKey,
        xs.map((x) => click('https://shop.example/p', x, 40)),
      ),
      visitorId,
      sessionId,
    }
    assert.equal((await post(platform.url, b)).status, 202)
  }
  const key = (sessionId: string) => sessionActorKey(siteId, sessionId)
  /** The session actor's summary as it stands in memory (asking activates it if it is not). */
  const live = async (sessionId: string) => {
    const r = await platform.runtime!.ask<{ summary: SessionRow; timeline: unknown[] }>(
      SESSION_ACTOR,
      key(sessionId),
      { kind: 'timeline' } satisfies SessionAskTimeline,
    )
    return { visitor: r.summary[2], events: r.summary[11], timeline: r.timeline.length }
  }
  const stored = async (visitorId: string) => {
    const r = await api('GET', `/v1/sites/${siteId}/visitors/${visitorId}`)
    assert.equal(r.status, 200, JSON.stringify(r.body))
    return {
      events: (r.body.stores.clickhouse.events as unknown[]).length,
      sessions: (r.body.stores.clickhouse.sessions as unknown[]).length,
    }
  }

  before(async () => {
    ;({ platform, stop } = await startTestPlatform({
      HM_FLUSH_INTERVAL_MS: '60000',
      HM_SHARDS: String(SHARDS),
    }))
    const demo = platform.demo!
    siteId = demo.siteId
    siteKey = demo.siteKey
    const login = await fetch(`${platform.url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: demo.email, password: demo.password }),
    })
    token = ((await login.json()) as { accessToken: string }).accessToken
  })
  after(async () => {
    await stop?.()
  })

  test('flushed, unflushed and queued sessions of the visitor: gone from every store and from memory', async () => {
    // s1: flushed once, then two more events applied and not flushed (and a summary held back).
    await send('alice', 'alice-s1', [10, 20, 30])
    await waitFor(
      () => live('alice-s1'),
      (s) => s.events === 3,
    )
    await send('bob', 'bob-s1', [50, 60])
    await waitFor(
      () => live('bob-s1'),
      (s) => s.events === 2,
    )
    await platform.runtime!.flushNow()
    assert.deepEqual(await stored('alice'), { events: 3, sessions: 1 })
    await send('alice', 'alice-s1', [40, 41])
    // s2: in memory only, never flushed.
    await send('alice', 'alice-s2', [70])
    assert.deepEqual(
      await waitFor(
        async () => [await live('alice-s1'), await live('alice-s2')],
        ([a, b]) => a!.events === 5 && b!.events === 1,
      ),
      [
        { visitor: 'alice', events: 5, timeline: 5 },
        { visitor: 'alice', events: 1, timeline: 1 },
      ],
    )
    // s3: accepted just before the deletion, maybe not applied yet when it starts.
    await send('alice', 'alice-s3', [80])

    const d = await api('DELETE', `/v1/sites/${siteId}/visitors/alice`)
    assert.equal(d.status, 202, JSON.stringify(d.body))
    // The deletion waits for flushes that store its requests; this platform flushes when told.
    const done = await waitFor(
      async () => {
        await platform.runtime!.flushNow()
        return (await api('GET', `/v1/deletions/${d.body.id}`)).body
      },
      (s) => s.status !== 'pending',
      120_000,
    )
    assert.equal(done.status, 'done', JSON.stringify(done))
    assert.deepEqual(done.stores.actors, { sessionsForgotten: 3 })
    // The runtime's applied flush records held the visitor's drained events too: gone at once.
    assert.ok(done.stores.journal.flushRecords > 0, JSON.stringify(done.stores))
    assert.deepEqual(
      [done.stores.clickhouse.events, done.stores.clickhouse.sessionActors],
      [7, 3],
      'every event of the visitor was stored before it was deleted, none after',
    )

    // The next flushes write nothing of the visitor again.
    await platform.runtime!.flushNow()
    await platform.runtime!.flushNow()
    assert.deepEqual(await stored('alice'), { events: 0, sessions: 0 })
    const sessions = await api('GET', `/v1/sites/${siteId}/sessions?limit=100`)
    assert.deepEqual(
      (sessions.body.sessions as Array<{ sessionId: string }>).map((s) => s.sessionId),
      ['bob-s1'],
    )
    const store = platform.runtime!.options.store
    const aliceKeys = ['alice-s1', 'alice-s2', 'alice-s3'].map(key)
    assert.equal(
      (await store.loadSnapshots(aliceKeys.map((k) => ({ type: SESSION_ACTOR, key: k })))).size,
      0,
      'no snapshot of the visitor’s sessions',
    )
    const reminders = await store.loadReminders(Array.from({ length: SHARDS }, (_, i) => shardId(i)))
    assert.deepEqual(
      reminders.filter((r) => aliceKeys.includes(r.key)),
      [],
      'no stored reminder of the visitor’s sessions',
    )
    // Nothing left to bring them back: not active (so no timer), no reminder scheduled; bob's stays.
    for (const k of aliceKeys) assert.equal(await platform.runtime!.inspect(SESSION_ACTOR, k), undefined, k)
    assert.equal(platform.runtime!.reminders.size, 1, "only bob's session has its end reminder scheduled")
    assert.equal(
      ((await platform.runtime!.inspect(SESSION_ACTOR, key('bob-s1'))) as { visitorId: string }).visitorId,
      'bob',
    )
    assert.deepEqual(await stored('bob'), { events: 2, sessions: 1 })
    // Asked now, a session of the visitor comes back empty.
    assert.deepEqual(await live('alice-s1'), { visitor: '', events: 0, timeline: 0 })
  })
})
