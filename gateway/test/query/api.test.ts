import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import type { Platform } from '../../src/index.ts'
import { waitFor } from '../helpers/events.ts'
import { startTestPlatform } from '../helpers/platform.ts'
import { type Api, api, DESKTOP_UA, IPHONE_UA, send } from './client.ts'

let platform: Platform
let stop: (() => Promise<void>) | undefined
let q: Api

const H = 3_600_000
const D = Date.UTC(2026, 10, 20)
const at = (hours: number, s = 0): number => D + hours * H + s * 1000
const URL = 'https://shop.example'
const desktop = { vw: 1280, vh: 800, dw: 1280, dh: 3000 }
const mobile = { vw: 390, vh: 844, dw: 390, dh: 6000 }
const ALL = { from: '2026-11-20', to: '2026-11-22' }

const ev = (type: string, path: string, ts: number, screen: object, rest: object = {}): WireEvent =>
  ({ type, ts, url: URL + path, ...screen, ...rest }) as WireEvent

before(async () => {
  ;({ platform, stop } = await startTestPlatform({ HM_COUNTRY_HEADER: 'cf-ipcountry' }))
  const { siteKey, siteId, apiKey } = platform.demo!
  q = api(platform.url, apiKey, siteId)
  const A = { id: 'sessA', ua: DESKTOP_UA, country: 'DE' }
  const B = { id: 'sessB', ua: IPHONE_UA, country: 'FR' }
  const C = { id: 'sessC', ua: DESKTOP_UA, country: 'FR' }
  await send(platform.url, siteKey, A, [
    ev('pageview', '/shop', at(10), desktop),
    ev('click', '/shop', at(10, 1), desktop, { x: 640, y: 100 }),
    ev('click', '/shop', at(10, 2), desktop, { x: 640, y: 100 }),
    ev('click', '/shop', at(10, 3), desktop, { x: 640, y: 100 }),
    ev('click', '/shop', at(10, 4), desktop, { x: 100, y: 200, selector: '#cta', ox: 0.5, oy: 0.25 }),
  ])
  await send(platform.url, siteKey, A, [
    ev('rage', '/shop', at(10, 5), desktop, { x: 320, y: 50, count: 4, selector: '#buy' }),
    ev('dead', '/shop', at(10, 6), desktop, { x: 960, y: 800, selector: '#logo' }),
    ev('move', '/shop', at(10, 7), desktop, { x: 1279, y: 2999, rest: 900 }),
    ev('attention', '/shop', at(10, 8), desktop, { band0: 2, ms: [100, 0, 250] }),
    ev('scroll', '/shop', at(10, 9), desktop, { depth: 1600 }),
  ])
  await send(platform.url, siteKey, B, [
    ev('pageview', '/shop', at(11.5), mobile),
    ev('click', '/shop', at(11.5, 1), mobile, { x: 195, y: 400 }),
    ev('scroll', '/shop', at(11.5, 2), mobile, { depth: 3000 }),
  ])
  await send(platform.url, siteKey, C, [
    ev('pageview', '/shop', at(33), desktop),
    ev('click', '/shop', at(33, 1), desktop, { x: 640, y: 100 }),
    ev('click', '/shop', at(33, 2), desktop, { x: 640, y: 100 }),
  ])
  await platform.runtime!.flushNow()
  await waitFor(
    () => q.get<{ total: number }>('/heatmap', { page: '/shop', type: 'click', ...ALL, live: 'false' }),
    (h) => h.total >= 7,
  )
  // Live sessions' summaries are provisional and throttled (SESSION_SUMMARY_EVERY_MS): wait for the ones
  // that hold every posted event.
  await waitFor(
    () => q.get<{ total: number; sessions: Array<{ events: number }> }>('/sessions', ALL),
    (s) => s.total >= 3 && s.sessions.reduce((n, x) => n + x.events, 0) >= 16,
    30_000,
  )
})
after(async () => {
  await stop?.()
})

type Cells = { total: number; xCells: number; yBandPx: number; cells: Array<[number, number, number]> }

describe('query API', () => {
  test('heatmap cells of each type are exactly the posted traffic', async () => {
    const cells = async (type: string) =>
      (await q.get<Cells>('/heatmap', { page: '/shop', type, ...ALL })).cells
    assert.deepEqual(await cells('click'), [
      [64, 6, 5],
      [10, 12, 1],
      [64, 25, 1],
    ])
    assert.deepEqual(await cells('rage'), [[32, 3, 1]])
    assert.deepEqual(await cells('dead'), [[96, 50, 1]])
    assert.deepEqual(await cells('move'), [[127, 187, 1]])
    assert.deepEqual(await cells('attention'), [
      [0, 2, 100],
      [0, 4, 250],
    ])
    assert.deepEqual(await cells('pageview'), [[0, 0, 3]])
    // A full URL works as the page: it is normalised like ingestion does.
    const byUrl = await q.get<Cells>('/heatmap', { page: `${URL}/shop/?utm=x`, type: 'click', ...ALL })
    assert.equal(byUrl.total, 7)
  })

  test('filters: device (from the User-Agent), country (from the CDN header), viewport class', async () => {
    const total = async (f: Record<string, string>) =>
      (await q.get<Cells>('/heatmap', { page: '/shop', type: 'click', ...ALL, ...f })).total
    assert.equal(await total({ device: 'mobile' }), 1)
    assert.equal(await total({ device: 'desktop' }), 6)
    assert.equal(await total({ country: 'FR' }), 3)
    assert.equal(await total({ country: 'fr', device: 'desktop' }), 2)
    assert.equal(await total({ viewport: 'mobile' }), 1)
  })

  test('a requested resolution aggregates columns and rows; out of bounds is a clear 400', async () => {
    const h = await q.get<Cells>('/heatmap', { page: '/shop', type: 'click', ...ALL, cols: 4, bandPx: 128 })
    assert.deepEqual(
      [h.xCells, h.yBandPx, h.cells],
      [
        4,
        128,
        [
          [2, 0, 5],
          [0, 1, 1],
          [2, 3, 1],
        ],
      ],
    )
    const bads: Array<Record<string, number>> = [
      { cols: 3 },
      { cols: 256 },
      { bandPx: 8 },
      { bandPx: 100 },
      { bandPx: 8192 },
    ]
    for (const bad of bads) {
      const e = await q.error('/heatmap', { page: '/shop', type: 'click', ...ALL, ...bad })
      assert.deepEqual([e.status, e.code], [400, 'HM_ERR_QUERY_BAD_RESOLUTION'])
      assert.match(e.message, new RegExp(Object.keys(bad)[0]!))
    }
  })

  test('ranges: inverted or too long is HM_ERR_QUERY_BAD_RANGE; a date-time without an offset is refused', async () => {
    const inverted = await q.error('/heatmap', {
      page: '/shop',
      type: 'click',
      from: '2026-11-22',
      to: '2026-11-20',
    })
    assert.deepEqual([inverted.status, inverted.code], [400, 'HM_ERR_QUERY_BAD_RANGE'])
    assert.match(inverted.message, /from: must be before to/)
    const long = await q.error('/sessions', { from: '2025-01-01', to: '2026-11-20' })
    assert.equal(long.code, 'HM_ERR_QUERY_BAD_RANGE')
    const naive = await q.error('/heatmap', {
      page: '/shop',
      type: 'click',
      from: '2026-11-20T10:00:00',
      to: '2026-11-21',
    })
    assert.deepEqual([naive.status, naive.code], [400, 'HM_ERR_QUERY_BAD_PARAM'])
    assert.match(naive.message, /from: .*UTC offset/)
    const compare = await q.error('/compare', {
      page: '/shop',
      type: 'click',
      ...ALL,
      bFrom: '2026-11-21',
      bTo: '2026-11-20',
    })
    assert.match(compare.message, /bFrom: must be before bTo/)
  })

  test('time zones: a range given with an offset selects by the UTC instant it names', async () => {
    // 11:00 to 12:00 at +01:00 is 10:00Z to 11:00Z: session A's clicks, not B's (11:30Z).
    const h = await q.get<Cells & { coveredFrom: number; coveredTo: number }>('/heatmap', {
      page: '/shop',
      type: 'click',
      from: '2026-11-20T11:00:00+01:00',
      to: '2026-11-20T12:00:00+01:00',
    })
    assert.equal(h.total, 4)
    assert.deepEqual([h.coveredFrom, h.coveredTo], [at(10), at(11)])
    const s = await q.get<{ sessions: Array<{ sessionId: string }> }>('/sessions', {
      from: '2026-11-20T12:15:00+01:00',
      to: '2026-11-20T07:00:00-05:00',
    })
    assert.deepEqual(
      s.sessions.map((x) => x.sessionId),
      ['sessB'],
    )
  })

  test('scroll curve and attention per band', async () => {
    type Scroll = {
      views: number
      avgFoldPx: number
      bands: Array<{ y: number; reached: number; share: number }>
      marks: Array<{ percent: number; y: number }>
    }
    const s = await q.get<Scroll>('/scroll', { page: '/shop', ...ALL, bandPx: 800 })
    assert.equal(s.views, 3)
    assert.equal(s.avgFoldPx, (800 + 844 + 800) / 3)
    // Views reaching each 800 px row: 3, 2, 1, 1. Three quarters of 3 views needs all 3; half needs 2.
    assert.deepEqual(s.marks, [
      { percent: 100, y: 800 },
      { percent: 75, y: 800 },
      { percent: 50, y: 1600 },
      { percent: 25, y: 3200 },
    ])
    // At 16 px rows the marks are the depths themselves: C saw its first 800 px, A scrolled to 1600, B
    // to 3000 (the bottom of the row holding px 2999).
    const fine = await q.get<Scroll>('/scroll', { page: '/shop', ...ALL })
    assert.deepEqual(
      fine.marks.map((m) => [m.percent, m.y]),
      [
        [100, 800],
        [75, 800],
        [50, 1600],
        [25, 3008],
      ],
    )
    assert.deepEqual(
      s.bands.map((b) => [b.y, b.reached]),
      [
        [0, 3],
        [800, 2],
        [1600, 1],
        [2400, 1],
      ],
    )
    const a = await q.get<{ views: number; bands: Array<{ y: number; ms: number }> }>('/attention', {
      page: '/shop',
      ...ALL,
    })
    assert.equal(a.views, 3)
    assert.deepEqual(
      a.bands.map((b) => [b.y, b.ms]),
      [
        [32, 100],
        [64, 250],
      ],
    )
  })

  test('top elements with rage counts, and where inside an element the clicks landed', async () => {
    const e = await q.get<{
      elements: Array<{ selector: string; clicks: number; rage: number; rageClicks: number; dead: number }>
    }>('/elements', { page: '/shop', ...ALL, sort: 'rage' })
    assert.deepEqual(e.elements[0], {
      selector: '#buy',
      clicks: 0,
      rage: 1,
      rageClicks: 4,
      dead: 0,
      share: 0,
    })
    assert.deepEqual(e.elements.map((x) => x.selector).sort(), ['#buy', '#cta', '#logo'])
    const o = await q.get<{ offsets: number[][] }>('/elements', { page: '/shop', ...ALL, selector: '#cta' })
    assert.deepEqual(o.offsets, [[8, 4, 1]])
  })

  test('compare: two date ranges and two segments, per page view, with the difference grid', async () => {
    type Cmp = {
      a: { views: number; cells: number[][] }
      b: { views: number; cells: number[][] }
      diff: number[][]
    }
    const days = await q.get<Cmp>('/compare', {
      page: '/shop',
      type: 'click',
      aFrom: '2026-11-20',
      aTo: '2026-11-21',
      bFrom: '2026-11-21',
      bTo: '2026-11-22',
    })
    assert.deepEqual([days.a.views, days.b.views], [2, 1])
    assert.deepEqual(days.b.cells, [[64, 6, 2]])
    assert.deepEqual(days.diff, [
      [64, 6, 2 - 1.5],
      [10, 12, -0.5],
      [64, 25, -0.5],
    ])
    const devices = await q.get<Cmp>('/compare', {
      page: '/shop',
      type: 'click',
      ...ALL,
      cols: 1,
      bandPx: 4096,
      aDevice: 'desktop',
      bDevice: 'mobile',
    })
    assert.deepEqual(
      [devices.a.views, devices.a.cells, devices.b.views, devices.b.cells, devices.diff],
      [2, [[0, 0, 3]], 1, [[0, 0, 1]], [[0, 0, -2]]],
    )
  })

  test('compare per total: each side as shares of its own clicks, so only where they went differs', async () => {
    type Cmp = {
      per: string
      a: { views: number; total: number; cells: number[][] }
      b: { views: number; total: number; cells: number[][] }
      diff: number[][]
    }
    const c = await q.get<Cmp>('/compare', {
      page: '/shop',
      type: 'click',
      aFrom: '2026-11-20',
      aTo: '2026-11-21',
      bFrom: '2026-11-21',
      bTo: '2026-11-22',
      per: 'total',
    })
    assert.equal(c.per, 'total')
    // Day one: 5 clicks (3 + 1 + 1) over 2 views; day two: 2 clicks, all on the first cell.
    assert.deepEqual([c.a.total, c.b.total], [5, 2])
    const close = (got: number[][], want: number[][]) => {
      assert.equal(got.length, want.length, JSON.stringify(got))
      got.forEach((g, i) => {
        assert.deepEqual(g.slice(0, 2), want[i]!.slice(0, 2))
        assert.ok(
          Math.abs(g[2]! - want[i]![2]!) < 1e-9,
          `${JSON.stringify(g)} against ${JSON.stringify(want[i])}`,
        )
      })
    }
    close(c.a.cells, [
      [64, 6, 3 / 5],
      [10, 12, 1 / 5],
      [64, 25, 1 / 5],
    ])
    close(c.b.cells, [[64, 6, 1]])
    close(c.diff, [
      [64, 6, 1 - 3 / 5],
      [10, 12, -1 / 5],
      [64, 25, -1 / 5],
    ])
    const bad = await q.error('/compare', { page: '/shop', type: 'click', ...ALL, per: 'visitor' })
    assert.deepEqual([bad.status, bad.code], [400, 'HM_ERR_QUERY_BAD_PARAM'])
    assert.match(bad.message, /per/)
  })

  test('exports: PNG and SVG with a legend, CSV and JSON; sizes out of bounds are a 400', async () => {
    const png = await q.raw('/export', {
      page: '/shop',
      type: 'click',
      ...ALL,
      format: 'png',
      width: 600,
      height: 900,
    })
    assert.equal(png.status, 200)
    assert.equal(png.headers.get('content-type'), 'image/png')
    assert.match(png.headers.get('content-disposition') ?? '', /heatmap-click-shop\.png/)
    const bytes = Buffer.from(await png.arrayBuffer())
    assert.equal(bytes.subarray(1, 4).toString(), 'PNG')
    assert.deepEqual([bytes.readUInt32BE(16), bytes.readUInt32BE(20)], [600, 900])
    const svg = await (
      await q.raw('/export', { page: '/shop', type: 'click', ...ALL, format: 'svg', width: 600 })
    ).text()
    assert.match(svg, /Clicks on \/shop/)
    assert.match(svg, />5 clicks</, 'legend up to the hottest cell at 64 × 32 px cells')
    const csv = await (
      await q.raw('/export', { page: '/shop', type: 'click', ...ALL, format: 'csv', cols: 128, bandPx: 16 })
    ).text()
    assert.deepEqual(csv.trim().split('\n').slice(1), [
      '64,6,0.5,0.5078125,96,112,5',
      '10,12,0.078125,0.0859375,192,208,1',
      '64,25,0.5,0.5078125,400,416,1',
    ])
    const json = await q.get<Cells>('/export', { page: '/shop', type: 'click', ...ALL, format: 'json' })
    assert.equal(json.total, 7)
    const huge = await q.error('/export', {
      page: '/shop',
      type: 'click',
      ...ALL,
      format: 'png',
      width: 20_000,
    })
    assert.deepEqual([huge.status, huge.code], [400, 'HM_ERR_QUERY_BAD_RESOLUTION'])
    assert.match(huge.message, /width/)
  })

  test('an unknown page is a 404 for analyses; the live heatmap of it is simply empty', async () => {
    for (const path of ['/scroll', '/attention', '/elements', '/export']) {
      const e = await q.error(path, { page: '/nope', type: 'click', format: 'png', ...ALL })
      assert.deepEqual([e.status, e.code], [404, 'HM_ERR_QUERY_UNKNOWN_PAGE'], path)
      assert.match(e.message, /\/nope/)
    }
    assert.equal((await q.get<Cells>('/heatmap', { page: '/nope', type: 'click', ...ALL })).total, 0)
  })

  test('sessions: list with filters and sort, one session with its timeline', async () => {
    type List = {
      total: number
      sessions: Array<{
        sessionId: string
        device: string
        country: string
        clicks: number
        browser: string
        os: string
        rage: number
      }>
    }
    const all = await q.get<List>('/sessions', ALL)
    assert.equal(all.total, 3)
    assert.deepEqual(
      all.sessions.map((s) => s.sessionId),
      ['sessC', 'sessB', 'sessA'],
    )
    const b = all.sessions.find((s) => s.sessionId === 'sessB')!
    assert.deepEqual([b.device, b.country, b.browser, b.os], ['mobile', 'FR', 'Safari', 'iOS'])
    const ids = async (f: Record<string, string | number>) =>
      (await q.get<List>('/sessions', { ...ALL, ...f })).sessions.map((s) => s.sessionId)
    assert.deepEqual(await ids({ device: 'mobile' }), ['sessB'])
    assert.deepEqual(await ids({ country: 'FR', sort: 'started', order: 'asc' }), ['sessB', 'sessC'])
    assert.deepEqual(await ids({ rage: 'true' }), ['sessA'])
    assert.deepEqual(await ids({ sort: 'clicks', limit: 2 }), ['sessA', 'sessC'])
    assert.deepEqual(await ids({ page: '/shop', minDurationS: 5 }), ['sessA'])

    const one = await q.get<{
      session: { clicks: number; rageClicks: number; pages: Array<{ page: string; maxScrollPx: number }> }
      timeline: Array<{ ts: number; type: string }>
    }>('/sessions/sessA')
    assert.deepEqual([one.session.clicks, one.session.rageClicks], [4, 4])
    assert.deepEqual(
      one.session.pages.map((p) => [p.page, p.maxScrollPx]),
      [['/shop', 1600]],
    )
    assert.deepEqual(
      one.timeline.map((e) => e.type),
      ['pageview', 'click', 'click', 'click', 'click', 'rage', 'dead', 'move', 'attention', 'scroll'],
    )
    assert.deepEqual(
      one.timeline.map((e) => e.ts),
      [...one.timeline.map((e) => e.ts)].sort((x, y) => x - y),
    )
    const missing = await q.error('/sessions/nope')
    assert.deepEqual([missing.status, missing.code], [404, 'HM_ERR_QUERY_UNKNOWN_SESSION'])
  })

  test("another organisation's site id is a 404 on every route", async () => {
    const other = api(platform.url, platform.demo!.apiKey, '00000000-0000-4000-8000-000000000000')
    for (const path of ['/scroll', '/sessions', '/sessions/sessA', '/compare', '/export', '/elements']) {
      const e = await other.error(path, { page: '/shop', type: 'click', format: 'csv', ...ALL })
      assert.deepEqual([e.status, e.code], [404, 'HM_ERR_QUERY_NOT_FOUND'], path)
    }
  })
})
