import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { ClickHouseClient } from '@clickhouse/client'
import {
  type BatchContext,
  ClickHouseSink,
  HeatmapQueries,
  migrateClickHouse,
  openClickHouse,
  SESSION_IDLE_MS,
  type WireEvent,
} from '../../src/index.ts'
import { attention, click, dead, desktop, mobile, move, pageview, rage, scroll } from '../helpers/events.ts'
import { Pipeline } from '../helpers/pipeline.ts'

let dir: string
let client: ClickHouseClient
let q: HeatmapQueries
const db = `hm_q_${process.pid}`
const SITE = 'siteQ'
const H = 3_600_000
const D = Date.UTC(2026, 10, 20)
const at = (hours: number, minutes = 0): number => D + hours * H + minutes * 60_000
const ALL = { siteId: SITE, from: D, to: D + 2 * 24 * H }

const who = (
  sessionId: string,
  device: string,
  country: string,
  browser = 'Chrome',
  os = 'Windows',
): BatchContext => ({
  siteId: SITE,
  visitorId: `v-${sessionId}`,
  sessionId,
  device,
  country,
  browser,
  os,
})

// The scripted traffic of the whole file: four sessions over two days.
const traffic: Array<[BatchContext, WireEvent[]]> = [
  [
    who('A', 'desktop', 'DE'),
    [
      pageview('/', at(10), desktop, 'https://news.example/'),
      click('/', 640, 100, at(10, 1)),
      click('/', 640, 100, at(10, 1)),
      click('/', 640, 100, at(10, 2)),
      click('/', 0, 0, at(10, 2)),
      click('/', 100, 200, at(10, 3), desktop, { selector: '#cta', ox: 0.5, oy: 0.25 }),
      move('/', 1279, 2999, at(10, 4)),
      rage('/', 320, 50, 4, '#buy', at(10, 5)),
      dead('/', 960, 800, '#logo', at(10, 6)),
      attention('/', 2, [100, 0, 250], at(10, 7)),
      scroll('/', 1600, at(10, 8)),
    ],
  ],
  [
    who('B', 'mobile', 'FR', 'Safari', 'iOS'),
    [
      pageview('/', at(11, 30), mobile),
      click('/', 195, 400, at(11, 31), mobile),
      scroll('/', 3000, at(11, 32), mobile),
    ],
  ],
  [
    who('C', 'desktop', 'FR'),
    [pageview('/', at(33), desktop), click('/', 640, 100, at(33, 1)), click('/', 640, 100, at(33, 2))],
  ],
  [who('D', 'desktop', 'DE'), [pageview('/pricing', at(10, 10)), click('/pricing', 10, 10, at(10, 11))]],
]

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hm-chq-'))
  client = openClickHouse({ dataDir: dir })
  await migrateClickHouse(client, db)
  q = new HeatmapQueries(client, db)
  const sink = new ClickHouseSink(client, db)
  const p = new Pipeline(at(10))
  for (const [ctx, events] of traffic) {
    p.send(ctx, events.slice(0, 4))
    await p.flush(sink)
    p.send(ctx, events.slice(4))
  }
  p.advance(SESSION_IDLE_MS)
  await p.flush(sink)
})
after(async () => {
  await client.close()
  await rm(dir, { recursive: true, force: true })
})

describe('queries over actor-written data (chDB)', () => {
  test('each type gives exactly the expected cells, and the cells sum to the events', async () => {
    const cells = async (type: 'click' | 'move' | 'rage' | 'dead' | 'attention' | 'pageview') =>
      (await q.heatmap({ ...ALL, page: '/', type })).cells
    assert.deepEqual(await cells('click'), [
      [0, 0, 1],
      // Desktop (640, 100) five times over both days; the mobile tap at (195, 400) of 390 px is the same column.
      [64, 6, 5],
      [10, 12, 1],
      [64, 25, 1],
    ])
    assert.deepEqual(await cells('move'), [[127, 187, 1]])
    assert.deepEqual(await cells('rage'), [[32, 3, 1]])
    assert.deepEqual(await cells('dead'), [[96, 50, 1]])
    assert.deepEqual(await cells('attention'), [
      [0, 2, 100],
      [0, 4, 250],
    ])
    assert.deepEqual(await cells('pageview'), [[0, 0, 3]])
    const clicks = traffic
      .flatMap(([, e]) => e)
      .filter((e) => e.type === 'click' && e.url.endsWith('/')).length
    assert.equal((await q.heatmap({ ...ALL, page: '/', type: 'click' })).total, clicks)
  })

  test('a coarser resolution sums columns and rows', async () => {
    const h = await q.heatmap({ ...ALL, page: '/', type: 'click', cols: 4, bandPx: 128 })
    assert.deepEqual([h.xCells, h.yBandPx], [4, 128])
    // Columns of 32 cells, rows of 8 bands: (64,6)→(2,0); (0,0)→(0,0); (10,12)→(0,1); (64,25)→(2,3).
    assert.deepEqual(h.cells, [
      [0, 0, 1],
      [2, 0, 5],
      [0, 1, 1],
      [2, 3, 1],
    ])
    await assert.rejects(q.heatmap({ ...ALL, page: '/', type: 'click', cols: 3 }), /cols/)
    await assert.rejects(q.heatmap({ ...ALL, page: '/', type: 'click', bandPx: 8 }), /bandPx/)
    await assert.rejects(q.heatmap({ ...ALL, page: '/', type: 'click', bandPx: 8192 }), /bandPx/)
  })

  test('filters by viewport class, device and country', async () => {
    const base = { ...ALL, page: '/', type: 'click' as const }
    assert.deepEqual((await q.heatmap({ ...base, device: 'mobile' })).cells, [[64, 25, 1]])
    assert.deepEqual((await q.heatmap({ ...base, viewport: 'mobile' })).cells, [[64, 25, 1]])
    assert.deepEqual((await q.heatmap({ ...base, country: 'FR' })).cells, [
      [64, 6, 2],
      [64, 25, 1],
    ])
    assert.deepEqual((await q.heatmap({ ...base, country: 'FR', device: 'desktop' })).cells, [[64, 6, 2]])
    assert.equal(await q.pageviews({ ...ALL, page: '/', country: 'DE' }), 1)
    assert.deepEqual(await q.pages(SITE, ALL.from, ALL.to, 10, { country: 'DE' }), [
      { page: '/', views: 1 },
      { page: '/pricing', views: 1 },
    ])
  })

  test('compare: two date ranges, per page view, with the difference grid', async () => {
    const day1 = { from: D, to: D + 24 * H }
    const day2 = { from: D + 24 * H, to: D + 48 * H }
    const c = await q.compare({ siteId: SITE, page: '/', type: 'click' }, day1, day2)
    // Day 1: 2 page views (A, B), day 2: 1 (C).
    assert.deepEqual([c.a.views, c.b.views, c.a.total, c.b.total], [2, 1, 6, 2])
    assert.deepEqual(c.a.cells, [
      [0, 0, 0.5],
      [64, 6, 1.5],
      [10, 12, 0.5],
      [64, 25, 0.5],
    ])
    assert.deepEqual(c.b.cells, [[64, 6, 2]])
    assert.deepEqual(c.diff, [
      [0, 0, -0.5],
      [64, 6, 0.5],
      [10, 12, -0.5],
      [64, 25, -0.5],
    ])
  })

  test('compare: two segments of the same range', async () => {
    const c = await q.compare(
      { siteId: SITE, page: '/', type: 'click', cols: 1, bandPx: 4096 },
      { ...ALL, device: 'desktop' },
      { ...ALL, device: 'mobile' },
    )
    assert.deepEqual([c.a.views, c.b.views], [2, 1])
    assert.deepEqual(c.a.cells, [[0, 0, 3.5]])
    assert.deepEqual(c.b.cells, [[0, 0, 1]])
    assert.deepEqual(c.diff, [[0, 0, -2.5]])
  })

  test('scroll curve: share of page views reaching each row, never rising; the average fold', async () => {
    const curve = await q.scroll({ ...ALL, page: '/', bandPx: 800 })
    // A reached 1600 px, B (mobile) 3000 px, C only its fold (800 px).
    assert.equal(curve.views, 3)
    assert.equal(curve.avgFoldPx, (800 + 844 + 800) / 3)
    assert.deepEqual(
      curve.bands.map((b) => [b.y, b.reached]),
      [
        [0, 3],
        [800, 2],
        [1600, 1],
        [2400, 1],
      ],
    )
    for (let i = 1; i < curve.bands.length; i++) assert.ok(curve.bands[i]!.share <= curve.bands[i - 1]!.share)
    const mobileOnly = await q.scroll({ ...ALL, page: '/', device: 'mobile', bandPx: 800 })
    assert.deepEqual(
      mobileOnly.bands.map((b) => b.share),
      [1, 1, 1, 1],
    )
    const asCells = await q.heatmap({ ...ALL, page: '/', type: 'scroll', bandPx: 800 })
    assert.deepEqual(asCells.cells, [
      [0, 0, 3],
      [0, 1, 2],
      [0, 2, 1],
      [0, 3, 1],
    ])
  })

  test('attention per band, per page view', async () => {
    const a = await q.attention({ ...ALL, page: '/' })
    assert.equal(a.views, 3)
    assert.deepEqual(a.bands, [
      { y: 32, ms: 100, msPerView: 100 / 3, share: 0.4 },
      { y: 64, ms: 250, msPerView: 250 / 3, share: 1 },
    ])
  })

  test('top elements with rage and dead counts; where inside an element its clicks landed', async () => {
    const byClicks = await q.elements({ ...ALL, page: '/' })
    assert.equal(byClicks.totalClicks, 1)
    assert.deepEqual(byClicks.elements[0], {
      selector: '#cta',
      clicks: 1,
      rage: 0,
      rageClicks: 0,
      dead: 0,
      share: 1,
    })
    const byRage = await q.elements({ ...ALL, page: '/', sort: 'rage', limit: 1 })
    assert.deepEqual(byRage.elements, [
      { selector: '#buy', clicks: 0, rage: 1, rageClicks: 4, dead: 0, share: 0 },
    ])
    const byDead = await q.elements({ ...ALL, page: '/', sort: 'dead', limit: 1 })
    assert.equal(byDead.elements[0]!.selector, '#logo')
    assert.deepEqual(await q.elementOffsets({ ...ALL, page: '/', selector: '#cta' }), [[8, 4, 1]])
  })

  test('sessions: summaries of the scripted sessions, filters and sort', async () => {
    const list = await q.sessions.list({ ...ALL })
    assert.equal(list.total, 4)
    // Newest first by default.
    assert.deepEqual(
      list.sessions.map((s) => s.sessionId),
      ['C', 'B', 'D', 'A'],
    )
    const a = list.sessions.find((s) => s.sessionId === 'A')!
    assert.deepEqual(
      {
        pageviews: a.pageviews,
        clicks: a.clicks,
        rage: a.rage,
        rageClicks: a.rageClicks,
        dead: a.dead,
        events: a.events,
        durationMs: a.durationMs,
        referrer: a.referrer,
        entry: a.entryPage,
        exit: a.exitPage,
        ended: a.ended,
        device: a.device,
        country: a.country,
      },
      {
        pageviews: 1,
        clicks: 5,
        rage: 1,
        rageClicks: 4,
        dead: 1,
        events: 11,
        durationMs: 8 * 60_000,
        referrer: 'https://news.example/',
        entry: '/',
        exit: '/',
        ended: true,
        device: 'desktop',
        country: 'DE',
      },
    )
    assert.deepEqual(a.pages, [
      { page: '/', enteredAt: at(10), dwellMs: 8 * 60_000, maxScrollPx: 1600, maxScroll: 1600 / 3000 },
    ])
    const ids = async (f: Partial<Parameters<typeof q.sessions.list>[0]>) =>
      (await q.sessions.list({ ...ALL, ...f })).sessions.map((s) => s.sessionId)
    assert.deepEqual(await ids({ device: 'mobile' }), ['B'])
    assert.deepEqual(await ids({ browser: 'Safari', os: 'iOS' }), ['B'])
    assert.deepEqual(await ids({ country: 'FR', sort: 'started', order: 'asc' }), ['B', 'C'])
    assert.deepEqual(await ids({ rage: true }), ['A'])
    assert.deepEqual(await ids({ page: '/pricing' }), ['D'])
    assert.deepEqual(await ids({ sort: 'clicks', order: 'desc', limit: 2 }), ['A', 'C'])
    assert.deepEqual(await ids({ sort: 'clicks', order: 'desc', limit: 2, offset: 2 }), ['B', 'D'])
    assert.deepEqual(await ids({ minDurationMs: 3 * 60_000 }), ['A'])
  })

  test("one session's timeline, in time order", async () => {
    const t = await q.sessions.timeline(SITE, 'B')
    assert.deepEqual(
      t.map((e) => [e.ts, e.type, e.page, e.x, e.y]),
      [
        [at(11, 30), 'pageview', '/', 0, 0],
        [at(11, 31), 'click', '/', 195, 400],
        [at(11, 32), 'scroll', '/', 0, 3000],
      ],
    )
    assert.equal((await q.sessions.get(SITE, 'B'))?.device, 'mobile')
    assert.equal(await q.sessions.get(SITE, 'nope'), undefined)
    assert.deepEqual(await q.sessions.timeline('otherSite', 'B'), [])
  })

  test('time zones: UTC is stored; a range given with an offset selects by the instant it names', async () => {
    // 11:00+01:00 to 12:00+01:00 is 10:00Z to 11:00Z: session A's hour, not B's (11:30Z).
    const from = Date.parse('2026-11-20T11:00:00+01:00')
    const to = Date.parse('2026-11-20T12:00:00+01:00')
    const h = await q.heatmap({ siteId: SITE, page: '/', type: 'click', from, to })
    assert.equal(h.total, 5)
    assert.deepEqual(h.covered, { from: at(10), to: at(11) })
    // A half-hour offset starts inside a UTC hour: cells count that hour whole (and say so); sessions,
    // stored to the millisecond, are selected exactly.
    const from2 = Date.parse('2026-11-20T15:45:00+05:30') // 10:15Z
    const h2 = await q.heatmap({ siteId: SITE, page: '/', type: 'click', from: from2, to: from2 + H })
    assert.deepEqual(h2.covered, { from: at(10), to: at(12) })
    assert.equal(h2.total, 6)
    const s = await q.sessions.list({ siteId: SITE, from: from2, to: from2 + 2 * H })
    assert.deepEqual(
      s.sessions.map((x) => x.sessionId),
      ['B'],
    )
  })

  test('whole days come from the daily rollup, ragged ends from the hours: any range counts the same', async () => {
    const clicks = traffic.flatMap(([, e]) => e).filter((e) => e.type === 'click' && e.url.endsWith('/'))
    const ranges: Array<[number, number]> = [
      [at(10, 15), at(33, 30)],
      [D - 24 * H, D + 48 * H],
      [at(11, 31), at(11, 32)],
      [D, D + 24 * H],
      [at(10) + 59 * 60_000 + 59_000, at(33) + 1000],
      [at(-30), at(60)],
    ]
    for (const [from, to] of ranges) {
      const h = await q.heatmap({ siteId: SITE, page: '/', type: 'click', from, to })
      const expected = clicks.filter((e) => e.ts >= h.covered.from && e.ts < h.covered.to).length
      assert.equal(h.total, expected, `${new Date(from).toISOString()} – ${new Date(to).toISOString()}`)
      assert.equal(
        await q.pageviews({ siteId: SITE, page: '/', from, to }),
        traffic
          .flatMap(([, e]) => e)
          .filter(
            (e) =>
              e.type === 'pageview' && e.url.endsWith('/') && e.ts >= h.covered.from && e.ts < h.covered.to,
          ).length,
      )
    }
  })

  test('a page exists once anything was stored for it', async () => {
    assert.equal(await q.pageExists(SITE, '/pricing'), true)
    assert.equal(await q.pageExists(SITE, '/never'), false)
    assert.equal(await q.pageExists('otherSite', '/pricing'), false)
  })
})
