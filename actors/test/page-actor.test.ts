import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type CellRow,
  type ElementRow,
  hourOf,
  LIVE_INTERVAL_MS,
  NO_OFFSET,
  PAGE_ACTOR,
  type PageEvent,
  type PageLiveDelta,
  type PageMessage,
  type PageRecord,
  PendingGrid,
  pageActor,
  pageActorKey,
  pageTopic,
} from '../src/index.ts'
import { TestContext } from './helpers/context.ts'
import {
  attention,
  click,
  dead,
  desktop,
  mobile,
  move,
  pageview,
  rage,
  scroll,
  T0,
} from './helpers/events.ts'

type Msg = Parameters<typeof pageActor.receive>[1]

function strip<E extends { url: string }>(e: E): Omit<E, 'url'> {
  const { url: _url, ...rest } = e
  return rest
}

function run(messages: PageMessage[], ctx = new TestContext<Msg>(PAGE_ACTOR, pageActorKey('s1', '/p'))) {
  let s = pageActor.initial(ctx.key, ctx)
  for (const m of messages) s = pageActor.receive(s, m, ctx)
  const out = pageActor.drain!(s, ctx)
  const cells = out.filter((r): r is ['c', CellRow] => r[0] === 'c').map((r) => r[1])
  const elements = out.filter((r): r is ['e', ElementRow] => r[0] === 'e').map((r) => r[1])
  return { s, cells, elements, ctx }
}

const sortRows = <T extends unknown[]>(rows: T[]): T[] =>
  [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))

describe('page actor', () => {
  test('known traffic gives exactly the expected cells for every type, apart by viewport, device, country and hour', () => {
    const h = hourOf(T0)
    const events: PageEvent[] = [
      pageview('/p'),
      pageview('/p'),
      click('/p', 640, 100),
      click('/p', 640, 100),
      click('/p', 640, 100),
      click('/p', 0, 0),
      click('/p', 640, 100, T0 + 3_600_000),
      click('/p', 195, 4000, T0, mobile),
      move('/p', 1279, 2999),
      rage('/p', 320, 50, 4, '#buy'),
      dead('/p', 960, 800, '#logo'),
      attention('/p', 2, [100, 0, 250]),
      scroll('/p', 2500),
    ].map(strip) as PageEvent[]
    const { cells } = run([{ events, device: 'desktop', country: 'DE' }])
    const row = (
      type: CellRow[2],
      vc: CellRow[3],
      hour: number,
      x: number,
      y: number,
      n: number,
    ): CellRow => ['s1', '/p', type, vc, 'desktop', 'DE', hour, x, y, n]
    assert.deepEqual(
      sortRows(cells),
      sortRows([
        row('pageview', 'desktop', h, 0, 0, 2),
        // 640 / 1280 of 128 columns = 64; 100 px / 16 px = row 6.
        row('click', 'desktop', h, 64, 6, 3),
        row('click', 'desktop', h, 0, 0, 1),
        row('click', 'desktop', h + 3600, 64, 6, 1),
        // 195 / 390 of the mobile document's width = column 64; 4000 / 16 = row 250.
        row('click', 'mobile', h, 64, 250, 1),
        row('move', 'desktop', h, 127, 187, 1),
        // A rage cell counts bursts, not the clicks inside them.
        row('rage', 'desktop', h, 32, 3, 1),
        row('dead', 'desktop', h, 96, 50, 1),
        // Attention counts visible ms per band; a zero band costs nothing.
        row('attention', 'desktop', h, 0, 2, 100),
        row('attention', 'desktop', h, 0, 4, 250),
      ]),
    )
  })

  test('clicks keep their element and the offset inside it; rage and dead clicks count on the element', () => {
    const h = hourOf(T0)
    const el = { selector: '#cta', ox: 0.5, oy: 0.25 }
    const events = [
      click('/p', 10, 10, T0, desktop, el),
      click('/p', 10, 10, T0, desktop, el),
      click('/p', 10, 10, T0, desktop, { selector: '#cta', ox: 0.99, oy: 0 }),
      { ...strip(click('/p', 10, 10)), selector: '#cta' },
      rage('/p', 10, 10, 5, '#cta'),
      rage('/p', 10, 10, 3, '#cta'),
      dead('/p', 10, 10, '#cta'),
      click('/p', 10, 10),
    ].map((e) => ('url' in e ? strip(e) : e)) as PageEvent[]
    const { elements } = run([{ events }])
    const row = (ox: number, oy: number, c: number, r: number, rc: number, d: number): ElementRow => [
      's1',
      '/p',
      '#cta',
      'desktop',
      '',
      '',
      h,
      ox,
      oy,
      c,
      r,
      rc,
      d,
    ]
    assert.deepEqual(
      sortRows(elements),
      sortRows([
        row(8, 4, 2, 0, 0, 0),
        row(15, 0, 1, 0, 0, 0),
        // Without an offset (and for rage and dead clicks) the offset cell is NO_OFFSET.
        row(NO_OFFSET, NO_OFFSET, 1, 2, 8, 1),
      ]),
    )
  })

  test('the sum of the cells equals the events, for any traffic (attention: the sum of the visible ms)', () => {
    const arbEvent = fc.oneof(
      fc.record({
        type: fc.constantFrom('click' as const, 'move' as const, 'dead' as const),
        x: fc.integer({ min: 0, max: 5000 }),
        y: fc.integer({ min: 0, max: 60_000 }),
      }),
      fc.record({
        type: fc.constant('rage' as const),
        x: fc.nat(3000),
        y: fc.nat(3000),
        count: fc.integer({ min: 3, max: 20 }),
      }),
      fc.record({ type: fc.constant('pageview' as const) }),
      fc.record({
        type: fc.constant('attention' as const),
        band0: fc.nat(5000),
        ms: fc.array(fc.nat(5000), { minLength: 1, maxLength: 40 }),
      }),
    )
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            e: arbEvent,
            vw: fc.constantFrom(390, 800, 1440),
            dw: fc.integer({ min: 300, max: 3000 }),
            ts: fc.integer({ min: T0, max: T0 + 3 * 86_400_000 }),
          }),
          { maxLength: 300 },
        ),
        (list) => {
          const events = list.map(
            ({ e, vw, dw, ts }) => ({ ...e, ts, vw, vh: 800, dw, dh: 60_000 }) as PageEvent,
          )
          const { cells } = run([{ events }])
          const sums = new Map<string, number>()
          for (const c of cells) sums.set(c[2], (sums.get(c[2]) ?? 0) + c[9])
          const expected = new Map<string, number>()
          for (const e of events) {
            const by = e.type === 'attention' ? e.ms.reduce((a, b) => a + b, 0) : 1
            if (by > 0) expected.set(e.type, (expected.get(e.type) ?? 0) + by)
          }
          assert.deepEqual(Object.fromEntries(sums), Object.fromEntries(expected))
        },
      ),
      { numRuns: 150 },
    )
  })

  test('a 50,000 px page costs what was touched, not a dense grid', () => {
    const events = Array.from({ length: 500 }, (_, i) =>
      strip(click('/p', 0, i * 100, T0, { ...desktop, dh: 50_000 })),
    ) as PageEvent[]
    const ctx = new TestContext<Msg>(PAGE_ACTOR, pageActorKey('s1', '/p'))
    let s = pageActor.initial(ctx.key, ctx)
    s = pageActor.receive(s, { events }, ctx)
    // 500 clicks 100 px apart touch 500 rows of one column: 500 cells held, not 3,125 × 128.
    assert.equal((s as unknown as { grid: PendingGrid }).grid.size, 500)
  })

  test('over the cap the grid coarsens instead of dropping: every count kept, in the block it fell in', () => {
    const cap = 100
    const g = new PendingGrid(cap)
    const dims = { type: 'click', viewport: 'desktop', device: '', country: '', hour: hourOf(T0) }
    const points: Array<[number, number]> = []
    let seed = 7
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    for (let i = 0; i < 5000; i++) points.push([rnd(128), rnd(188)])
    for (const [x, y] of points) g.addCell(dims, x, y, 1)
    assert.ok(g.level > 0, 'coarsened')
    assert.ok(g.size <= cap, `size ${g.size} within the cap`)
    g.addElement({ ...dims, selector: '#a', offX: 3, offY: 4 }, { clicks: 2 })
    const level = g.level
    const { cells, elements } = g.drain()
    const mask = ~((1 << level) - 1)
    const expected = new Map<string, number>()
    for (const [x, y] of points) {
      const k = `${x & mask},${y & mask}`
      expected.set(k, (expected.get(k) ?? 0) + 1)
    }
    assert.deepEqual(new Map(cells.map((c) => [`${c.x},${c.y}`, c.count])), expected)
    // Past level 0 an element keeps its clicks, not where inside it they landed.
    assert.deepEqual(
      elements.map((e) => [e.dims.offX, e.counts.clicks]),
      [[NO_OFFSET, 2]],
    )
    assert.equal(g.level, 0, 'a drain resets the resolution')
    assert.equal(g.size, 0)
  })

  test('past 16-cell blocks, hours fold into their day; counts still add up', () => {
    const g = new PendingGrid(10)
    let n = 0
    for (let h = 0; h < 48; h++)
      for (const x of [0, 64]) {
        g.addCell(
          { type: 'click', viewport: 'desktop', device: '', country: '', hour: hourOf(T0) + h * 3600 },
          x,
          0,
          1,
        )
        n++
      }
    const { cells } = g.drain()
    assert.equal(
      cells.reduce((a, c) => a + c.count, 0),
      n,
    )
    assert.ok(cells.every((c) => c.dims.hour % 86_400 === 0))
    assert.ok(cells.length <= 6, `${cells.length} rows: at most 3 days × 2 blocks`)
  })

  test('publishes live deltas only while someone watches: at once when quiet, coalesced when busy', () => {
    const ctx = new TestContext<Msg>(PAGE_ACTOR, pageActorKey('s1', '/p'))
    const send = (events: PageEvent[]) => {
      s = pageActor.receive(s, { events }, ctx)
    }
    let s = pageActor.initial(ctx.key, ctx)
    send([strip(click('/p', 640, 100))] as PageEvent[])
    assert.equal(ctx.published.length + ctx.timers.size, 0, 'nobody watches: nothing kept, nothing sent')
    ctx.watching.add(pageTopic('s1', '/p'))
    send([strip(click('/p', 640, 100)), strip(click('/p', 640, 100))] as PageEvent[])
    assert.equal(ctx.published.length, 1, 'the first update goes out at once')
    assert.deepEqual((ctx.published[0]!.payload as PageLiveDelta).cells, [['click', 'desktop', 64, 6, 2]])
    assert.equal(ctx.published[0]!.topic, pageTopic('s1', '/p'))
    ctx.clock += 50
    send([strip(move('/p', 0, 0))] as PageEvent[])
    send([strip(click('/p', 640, 100))] as PageEvent[])
    assert.equal(ctx.published.length, 1, 'within the interval: held')
    assert.equal(
      ctx.timers.get('live')?.at,
      ctx.clock - 50 + LIVE_INTERVAL_MS,
      'one timer, when the interval ends',
    )
    for (const m of ctx.advance(LIVE_INTERVAL_MS - 50)) s = pageActor.receive(s, m, ctx)
    assert.equal(ctx.published.length, 2)
    assert.deepEqual(
      sortRows((ctx.published[1]!.payload as PageLiveDelta).cells),
      sortRows([
        ['click', 'desktop', 64, 6, 1],
        ['move', 'desktop', 0, 0, 1],
      ]),
    )
    // Deltas do not take the counts away from the flush.
    const rows = pageActor.drain!(s, ctx).filter((r: PageRecord) => r[0] === 'c')
    assert.equal(
      rows.reduce((a, r) => a + ((r[1] as CellRow)[2] === 'click' ? (r[1] as CellRow)[9] : 0), 0),
      4,
    )
  })

  test('answers the pending cells of a type and segment (to merge with stored ones)', () => {
    const ctx = new TestContext<Msg>(PAGE_ACTOR, pageActorKey('s1', '/p'))
    let s = pageActor.initial(ctx.key, ctx)
    s = pageActor.receive(
      s,
      { events: [strip(click('/p', 640, 100)), strip(click('/p', 0, 0))] as PageEvent[], device: 'desktop' },
      ctx,
    )
    s = pageActor.receive(s, { events: [strip(click('/p', 640, 100))] as PageEvent[], device: 'mobile' }, ctx)
    const all = pageActor.ask!(s, { kind: 'cells', type: 'click' }, ctx) as Array<[number, number, number]>
    assert.deepEqual(
      sortRows(all),
      sortRows([
        [64, 6, 2],
        [0, 0, 1],
      ]),
    )
    const phones = pageActor.ask!(s, { kind: 'cells', type: 'click', device: 'mobile' }, ctx)
    assert.deepEqual(phones, [[64, 6, 1]])
    assert.deepEqual(pageActor.ask!(s, { kind: 'cells', type: 'move' }, ctx), [])
  })
})
