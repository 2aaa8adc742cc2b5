import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import {
  cellY,
  depthBand,
  type EventRow,
  heatmapTypes,
  MAX_TIMELINE,
  normalizePage,
  type ScrollRow,
  SESSION_ACTOR,
  SESSION_IDLE_MS,
  SESSION_SUMMARY_EVERY_MS,
  type SessionEvent,
  type SessionEventRunRow,
  type SessionForget,
  type SessionMessage,
  type SessionRecord,
  type SessionRow,
  type SessionTick,
  scrollCurve,
  sessionActor,
  sessionActorKey,
  viewportClass,
  type WireEvent,
} from '../src/index.ts'
import { TestContext } from './helpers/context.ts'
import { click, dead, desktop, mobile, move, pageview, rage, scroll } from './helpers/events.ts'

type Msg = SessionMessage | SessionTick | SessionForget
const MIN = 60_000
const T = Date.UTC(2026, 10, 20, 9, 15)

const toSession = (e: WireEvent): SessionEvent => {
  const { url, ...rest } = e
  return { ...rest, page: normalizePage(url) } as SessionEvent
}
const msg = (events: WireEvent[], extra: Partial<SessionMessage> = {}): SessionMessage => ({
  visitorId: 'v1',
  device: 'desktop',
  browser: 'Chrome',
  os: 'Windows',
  country: 'DE',
  ...extra,
  events: events.map(toSession),
})

/**
 * The raw events of drained `session_events_v6` rows, one tuple per event in the column order of `events`,
 * derived as the view derives them.
 */
const rawEvents = (rows: SessionRecord[1][]): EventRow[] =>
  (rows as SessionEventRunRow[]).flatMap(
    ([
      site,
      session,
      visitor,
      device,
      country,
      ts0,
      pages,
      dt,
      type,
      pageNo,
      x,
      y,
      vw,
      vh,
      dw,
      dh,
      sel,
      value,
      ref,
    ]) => {
      assert.equal(Math.min(...dt), 0, 'ts0 is the earliest event of the row')
      assert.deepEqual(
        pages.map((_, i) => pageNo.indexOf(i) >= 0),
        pages.map(() => true),
        'every page of the row is used',
      )
      assert.equal(new Set(pages).size, pages.length, 'each page once')
      for (const field of [type, pageNo, x, y, vw, vh, dw, dh, sel, value, ref] as unknown[][]) {
        assert.ok(field.length === dt.length || field.length === 1, 'a field per event, or one for all')
      }
      return dt.map((d, i): EventRow => {
        const at = <T>(a: T[]): T => (a.length === 1 ? a[0]! : a[i]!)
        return [
          site,
          ts0 + d,
          session,
          visitor,
          heatmapTypes[at(type)]!,
          pages[at(pageNo)]!,
          viewportClass(at(vw)),
          device,
          country,
          at(x),
          at(y),
          at(vw),
          at(vh),
          at(dw),
          at(dh),
          at(sel),
          at(value),
          at(ref),
        ]
      })
    },
  )

class Session {
  readonly ctx: TestContext<Msg>
  state: ReturnType<typeof sessionActor.initial>
  readonly records: SessionRecord[] = []
  constructor(id = 'sess1', site = 'site1') {
    this.ctx = new TestContext<Msg>(SESSION_ACTOR, sessionActorKey(site, id), T)
    this.state = sessionActor.initial(this.ctx.key, this.ctx)
  }
  send(m: Msg): this {
    this.state = sessionActor.receive(this.state, m, this.ctx)
    return this
  }
  /** Moves the simulated clock, delivering the timers that come due. */
  wait(ms: number): this {
    for (const m of this.ctx.advance(ms)) this.send(m)
    return this
  }
  drain(): SessionRecord[] {
    const out = sessionActor.drain!(this.state, this.ctx)
    this.records.push(...out)
    return out
  }
  of<K extends SessionRecord[0]>(kind: K): Array<Extract<SessionRecord, [K, unknown]>[1]> {
    return this.records.filter((r) => r[0] === kind).map((r) => r[1]) as never
  }
}

/** The scripted visit: two pages, clicks, a rage burst, a dead click, scrolling. */
function scripted(s: Session): Session {
  s.send(
    msg([
      pageview('/', T, desktop, 'https://google.com/'),
      click('/', 100, 200, T + 1000),
      scroll('/', 1600, T + 5000),
      scroll('/', 2400, T + 8000),
    ]),
  )
  s.ctx.clock += 2 * MIN
  s.send(
    msg([
      pageview('/pricing', T + 20_000, { ...desktop, dh: 2000 }, 'https://shop.example/'),
      rage('/pricing', 300, 300, 4, '#buy', T + 25_000),
      dead('/pricing', 10, 10, '#logo', T + 26_000),
      { ...click('/pricing', 640, 900, T + 30_000), dh: 2000 },
      scroll('/pricing', 1200, T + 40_000, { ...desktop, dh: 2000 }),
      move('/pricing', 5, 5, T + 60_000),
    ]),
  )
  return s
}

const summaryObj = (r: SessionRow) => ({
  site: r[0],
  session: r[1],
  visitor: r[2],
  startedAt: r[3],
  lastEventAt: r[4],
  durationMs: r[5],
  pageviews: r[6],
  clicks: r[7],
  rage: r[8],
  rageClicks: r[9],
  dead: r[10],
  events: r[11],
  entry: r[12],
  exit: r[13],
  referrer: r[14],
  device: r[15],
  browser: r[16],
  os: r[17],
  country: r[18],
  viewport: r[19],
  pages: r[20],
  entered: r[21],
  dwell: r[22],
  maxScroll: r[23],
  heights: r[24],
  ended: r[25],
  version: r[26],
})

/** Sums scroll rows by band into the `[band, starts, ends, views, fold]` rows the curve reads. */
function curveRows(rows: ScrollRow[], page?: string): Array<[number, number, number, number, number]> {
  const by = new Map<number, [number, number, number, number, number]>()
  for (const r of rows) {
    if (page !== undefined && r[1] !== page) continue
    const b = by.get(r[6]) ?? [r[6], 0, 0, 0, 0]
    b[1] += r[7]
    b[2] += r[8]
    b[3] += r[9]
    b[4] += r[10]
    by.set(r[6], b)
  }
  return [...by.values()].sort((a, b) => a[0] - b[0])
}

describe('session actor', () => {
  test('the summary of a scripted session matches it field by field', () => {
    const s = scripted(new Session())
    s.wait(SESSION_IDLE_MS)
    s.drain()
    const sums = s.of('s')
    const last = summaryObj(sums.at(-1)!)
    assert.deepEqual(last, {
      site: 'site1',
      session: 'sess1',
      visitor: 'v1',
      startedAt: T,
      lastEventAt: T + 60_000,
      durationMs: 60_000,
      pageviews: 2,
      clicks: 2,
      rage: 1,
      rageClicks: 4,
      dead: 1,
      events: 10,
      entry: '/',
      exit: '/pricing',
      referrer: 'https://google.com/',
      device: 'desktop',
      browser: 'Chrome',
      os: 'Windows',
      country: 'DE',
      viewport: 'desktop',
      pages: ['/', '/pricing'],
      entered: [T, T + 20_000],
      // Dwell: until the next page view, the last page until its last event.
      dwell: [20_000, 40_000],
      maxScroll: [2400, 1200],
      heights: [3000, 2000],
      ended: 1,
      version: 21,
    })
    // Every event went to the raw table, in order, with the session's context.
    const raw = rawEvents(s.of('sc'))
    assert.equal(raw.length, 10)
    assert.deepEqual(raw[1], [
      'site1',
      T + 1000,
      'sess1',
      'v1',
      'click',
      '/',
      'desktop',
      'desktop',
      'DE',
      100,
      200,
      1280,
      800,
      1280,
      3000,
      '',
      0,
      '',
    ])
    assert.deepEqual(
      raw.map((r) => r[4]),
      ['pageview', 'click', 'scroll', 'scroll', 'pageview', 'rage', 'dead', 'click', 'scroll', 'move'],
    )
    // The texts of the few events that have one, each at its own event: referrers, selectors.
    assert.deepEqual(
      raw.map((r) => [r[15], r[17]]),
      [
        ['', 'https://google.com/'],
        ['', ''],
        ['', ''],
        ['', ''],
        ['', 'https://shop.example/'],
        ['#buy', ''],
        ['#logo', ''],
        ['', ''],
        ['', ''],
        ['', ''],
      ],
    )
    // value: the depth of a scroll (also its y), the clicks of a rage burst.
    assert.deepEqual([raw[3]![10], raw[3]![16]], [2400, 2400])
    assert.equal(raw[5]![16], 4)
  })

  test('a message without events writes no raw events row', () => {
    const s = new Session()
    s.send(msg([]))
    s.drain()
    assert.deepEqual(s.of('sc'), [])
    s.send(msg([click('/', 1, 2, T)]))
    s.drain()
    assert.equal(rawEvents(s.of('sc')).length, 1)
  })

  test('a field the same for every event of a drain is written once; one that differs, per event', () => {
    const s = new Session()
    s.send(msg([click('/', 1, 2, T), click('/', 3, 4, T + 300), click('/', 5, 6, T + 100)]))
    s.drain()
    const [row] = s.of('sc') as SessionEventRunRow[]
    const [, , , , , ts0, pages, dt, type, pageNo, x, y, vw, vh, dw, dh, sel, value, ref] = row!
    assert.deepEqual([ts0, pages, dt, x, y], [T, ['/'], [0, 300, 100], [1, 3, 5], [2, 4, 6]])
    assert.deepEqual(
      [type, pageNo, vw, vh, dw, dh, sel, value, ref],
      [[0], [0], [1280], [800], [1280], [3000], [''], [0], ['']],
    )
    s.send(
      msg([
        click('/a', 1, 2, T + 1000, mobile, { selector: 'a.b', ox: 0, oy: 0 }),
        click('/', 1, 2, T + 1001),
      ]),
    )
    s.drain()
    const [, , , , , , pages2, , , pageNo2, x2, , vw2, , , , sel2] = (s.of('sc') as SessionEventRunRow[])[1]!
    assert.deepEqual([pages2, pageNo2, x2, vw2, sel2], [['/a', '/'], [0, 1], [1], [390, 1280], ['a.b', '']])
  })

  test('ends after 30 minutes without events (simulated clock), not before, and passivates', () => {
    const s = scripted(new Session())
    assert.equal(s.ctx.timers.get('idle')?.at, s.ctx.clock + SESSION_IDLE_MS)
    s.wait(SESSION_IDLE_MS - 1)
    assert.equal(s.state.ended, false)
    // An event 29 minutes in restarts the wait.
    s.send(msg([click('/pricing', 1, 1, T + 29 * MIN)]))
    s.wait(SESSION_IDLE_MS - MIN)
    assert.equal(s.state.ended, false)
    assert.equal(s.ctx.passivations, 0)
    s.wait(MIN)
    assert.equal(s.state.ended, true)
    assert.equal(s.ctx.passivations, 1)
    assert.equal(s.ctx.timers.size, 0)
    assert.equal(s.ctx.reminders.size, 0, 'the backstop reminder is cancelled')
    const out = s.drain()
    const final = out.filter((r) => r[0] === 's').map((r) => summaryObj(r[1] as SessionRow))
    assert.equal(final.length, 1)
    assert.equal(final[0]!.ended, 1)
    assert.equal(final[0]!.clicks, 3)
  })

  test('a persisted reminder backs the timer up; it moves at most once per five minutes of activity', () => {
    const s = new Session()
    s.send(msg([pageview('/', T)]))
    assert.deepEqual(s.ctx.reminderSets, [{ name: 'end', at: T + SESSION_IDLE_MS + 5 * MIN }])
    for (let i = 1; i <= 10; i++) {
      s.ctx.clock += MIN
      s.send(msg([click('/', 1, 1, T + i * MIN)]))
    }
    assert.deepEqual(
      s.ctx.reminderSets.map((r) => (r.at - T) / MIN),
      [35, 41],
    )
    // The timer is gone (passivated by the runtime, say): the reminder alone ends the session.
    s.ctx.timers.clear()
    s.ctx.clock = s.ctx.reminders.get('end')!.at
    s.send(s.ctx.reminders.get('end')!.message)
    assert.equal(s.state.ended, true)
    // A late reminder for an ended session only passivates it again.
    s.send({ tick: 'idle' })
    assert.equal(s.state.ended, true)
    assert.equal(s.ctx.passivations, 2)
  })

  test('writes a provisional summary at most every SESSION_SUMMARY_EVERY_MS while live, the final one at the end', () => {
    const s = new Session()
    s.send(msg([pageview('/', T)]))
    assert.equal(s.drain().filter((r) => r[0] === 's').length, 1, 'a new session shows up at once')
    s.ctx.clock += SESSION_SUMMARY_EVERY_MS - 1
    s.send(msg([click('/', 1, 1, T + 10_000)]))
    assert.equal(s.drain().filter((r) => r[0] === 's').length, 0)
    // The runtime drains only actors that had a turn: the held-back summary brings the actor back itself.
    assert.equal(s.ctx.timers.get('summary')?.at, s.ctx.clock + 1)
    s.wait(1)
    assert.equal(s.drain().filter((r) => r[0] === 's').length, 1)
    assert.equal(s.drain().filter((r) => r[0] === 's').length, 0, 'nothing new, nothing written')
    s.wait(SESSION_IDLE_MS)
    const versions = [
      ...s.of('s'),
      ...s
        .drain()
        .filter((r) => r[0] === 's')
        .map((r) => r[1] as SessionRow),
    ].map((r) => r[26])
    assert.deepEqual(versions, [2, 4, 5], 'versions grow: the final summary wins in ClickHouse')
  })

  test('forgetting its visitor empties it: nothing undrained, no held summary, no timer or reminder left', () => {
    const s = new Session()
    s.send(msg([pageview('/', T)]))
    s.drain()
    // A second batch: its events are not drained yet and its summary would be held back.
    s.ctx.clock += 1000
    s.send(msg([click('/', 1, 1, T + 1000), click('/', 2, 2, T + 1500)]))
    assert.equal(s.drain().filter((r) => r[0] === 's').length, 0)
    s.send(msg([click('/', 3, 3, T + 2000)]))
    assert.ok(s.state.pending !== undefined, 'events not drained yet')
    assert.ok(s.ctx.timers.has('summary') && s.ctx.timers.has('idle') && s.ctx.reminders.has('end'))

    s.send({ forget: 'v1' })
    assert.equal(s.ctx.passivations, 1)
    assert.deepEqual([...s.ctx.timers.keys(), ...s.ctx.reminders.keys()], [])
    assert.deepEqual(s.drain(), [], 'nothing of the visitor is written after the forget')
    const empty = sessionActor.initial(s.ctx.key, s.ctx)
    assert.deepEqual(s.state, empty)
    assert.deepEqual(sessionActor.snapshot!(s.state), sessionActor.snapshot!(empty))
    // The idle timer would have fired: had it survived, nothing more would come out either.
    s.wait(SESSION_IDLE_MS)
    assert.deepEqual(s.drain(), [])
  })

  test('a forget naming another visitor leaves the session alone; a later batch starts afresh', () => {
    const s = new Session()
    s.send(msg([pageview('/', T), click('/', 1, 1, T + 10)]))
    const before = structuredClone(s.state)
    s.send({ forget: 'someone-else' })
    assert.deepEqual(s.state, before)
    assert.equal(s.ctx.passivations, 0)
    s.send({ forget: 'v1' })
    s.ctx.clock += MIN
    s.send(msg([click('/', 5, 5, T + MIN)]))
    const [summary] = s.drain().filter((r) => r[0] === 's')
    assert.deepEqual(
      [summaryObj(summary![1] as SessionRow).events, summaryObj(summary![1] as SessionRow).pageviews],
      [1, 0],
    )
  })

  test('events after the end reopen the session; the new summary replaces the ended one', () => {
    const s = new Session()
    s.send(msg([pageview('/', T)]))
    s.wait(SESSION_IDLE_MS)
    assert.equal(s.state.ended, true)
    s.send(msg([pageview('/blog', T + 40 * MIN)]))
    assert.equal(s.state.ended, false)
    s.wait(SESSION_IDLE_MS)
    s.drain()
    const last = summaryObj(s.of('s').at(-1)!)
    assert.deepEqual([last.pages, last.ended, last.exit], [['/', '/blog'], 1, '/blog'])
    assert.ok(last.version > 3)
  })

  test('scroll depth: each page view counts once, at the deepest band it reached', () => {
    const rows: ScrollRow[] = []
    // Four views of '/', ending at 800 (the fold, no scroll), 1600, 2400 and the bottom (3000 px).
    for (const [i, depths] of [[], [1600], [1200, 2400], [2400, 1800, 3200]].entries()) {
      const s = new Session(`s${i}`)
      s.send(msg([pageview('/', T), ...depths.map((d, k) => scroll('/', d, T + k + 1))]))
      s.drain()
      rows.push(...(s.of('sd') as ScrollRow[]))
    }
    const curve = scrollCurve(curveRows(rows))
    assert.equal(curve.views, 4)
    assert.equal(curve.avgFoldPx, 800)
    const at = (px: number): number => curve.bands[cellY(px)]!.reached
    assert.equal(at(0), 4)
    assert.equal(at(799), 4)
    assert.equal(at(800), 3)
    assert.equal(at(1599), 3)
    assert.equal(at(1600), 2)
    assert.equal(at(2399), 2)
    assert.equal(at(2400), 1)
    assert.equal(at(2999), 1)
    assert.equal(curve.bands.length, cellY(2999) + 1, 'nothing past the document')
    // Coarser rows: a 400 px row counts the views that saw any of it.
    const coarse = scrollCurve(curveRows(rows), 400)
    assert.deepEqual(
      coarse.bands.map((b) => b.reached),
      [4, 4, 3, 3, 2, 2, 1, 1],
    )
  })

  test('for any scrolling, the curve never rises with depth and counts every view at its deepest band', () => {
    const arbView = fc.record({
      page: fc.constantFrom('/', '/a'),
      vh: fc.integer({ min: 1, max: 1200 }),
      dh: fc.integer({ min: 1, max: 8000 }),
      scrolls: fc.array(
        fc.record({ depth: fc.integer({ min: 0, max: 9000 }), dh: fc.integer({ min: 1, max: 9000 }) }),
        {
          maxLength: 8,
        },
      ),
    })
    fc.assert(
      fc.property(
        fc.array(fc.array(arbView, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
        (sessions) => {
          const rows: ScrollRow[] = []
          const finalBands: number[] = []
          sessions.forEach((views, i) => {
            const s = new Session(`p${i}`)
            for (const v of views) {
              const screen = { vw: 1280, vh: v.vh, dw: 1280, dh: v.dh }
              let depth = Math.min(v.vh, v.dh)
              let height = v.dh
              const events: WireEvent[] = [pageview(v.page, T, screen)]
              for (const sc of v.scrolls) {
                events.push(scroll(v.page, sc.depth, T + 1, { ...screen, dh: sc.dh }))
                height = Math.max(height, sc.dh)
                depth = Math.max(depth, Math.min(sc.depth, sc.dh))
              }
              s.send(msg(events))
              if (v.page === '/') finalBands.push(depthBand(depth, height))
            }
            s.drain()
            rows.push(...(s.of('sd') as ScrollRow[]))
          })
          const curve = scrollCurve(curveRows(rows, '/'))
          assert.equal(curve.views, finalBands.length)
          for (let b = 0; b < curve.bands.length; b++) {
            if (b > 0) assert.ok(curve.bands[b]!.reached <= curve.bands[b - 1]!.reached, `rises at band ${b}`)
            assert.equal(curve.bands[b]!.reached, finalBands.filter((f) => f >= b).length)
          }
          assert.equal(curve.bands.length, finalBands.length === 0 ? 0 : Math.max(...finalBands) + 1)
        },
      ),
      { numRuns: 200 },
    )
  })

  test('its state survives a snapshot and restore (the summary is the same as without one)', () => {
    const packr = new Packr({ useRecords: false })
    const plain = scripted(new Session())
    plain.wait(SESSION_IDLE_MS)
    plain.drain()

    const first = new Session()
    first.send(msg([pageview('/', T, desktop, 'https://google.com/'), click('/', 100, 200, T + 1000)]))
    first.drain()
    const snap = packr.unpack(packr.pack(sessionActor.snapshot!(first.state)))
    const again = new Session()
    again.ctx.clock = first.ctx.clock
    again.state = sessionActor.restore!(snap, again.ctx.key, again.ctx)
    again.send(msg([scroll('/', 1600, T + 5000), scroll('/', 2400, T + 8000)]))
    again.ctx.clock += 2 * MIN
    again.send(
      msg([
        pageview('/pricing', T + 20_000, { ...desktop, dh: 2000 }, 'https://shop.example/'),
        rage('/pricing', 300, 300, 4, '#buy', T + 25_000),
        dead('/pricing', 10, 10, '#logo', T + 26_000),
        { ...click('/pricing', 640, 900, T + 30_000), dh: 2000 },
        scroll('/pricing', 1200, T + 40_000, { ...desktop, dh: 2000 }),
        move('/pricing', 5, 5, T + 60_000),
      ]),
    )
    again.wait(SESSION_IDLE_MS)
    again.drain()
    assert.deepEqual(again.of('s').at(-1), plain.of('s').at(-1))
    // The outbox is not part of the snapshot: what was drained before is not written twice.
    assert.equal(rawEvents(first.of('sc')).length + rawEvents(again.of('sc')).length, 10)
    // Nor is the in-memory timeline (the stored one is the raw events): the restored actor knows how much
    // of it is no longer in memory.
    assert.equal('timeline' in (snap as object), false)
    const answer = sessionActor.ask!(again.state, { kind: 'timeline' }, again.ctx) as {
      timeline: unknown[]
      timelineDropped: number
    }
    assert.equal(answer.timelineDropped, 2)
    assert.equal(answer.timeline.length, 8)
  })

  test('the timeline for cursor replay is bounded and keeps the newest interactions', () => {
    const s = new Session()
    s.send(msg([pageview('/', T)]))
    const n = MAX_TIMELINE + 700
    for (let i = 0; i < n; i += 100) {
      s.send(msg(Array.from({ length: 100 }, (_, k) => click('/', (i + k) % 1280, 10, T + i + k + 1))))
    }
    const answer = sessionActor.ask!(s.state, { kind: 'timeline' }, s.ctx) as {
      timeline: Array<[number, string, number, number, string]>
      timelineDropped: number
    }
    assert.ok(answer.timeline.length <= MAX_TIMELINE)
    assert.equal(answer.timeline.length + answer.timelineDropped, n + 1)
    assert.deepEqual(answer.timeline.at(-1), [T + n, 'click', (n - 1) % 1280, 10, '/'])
    assert.equal(s.state.clicks, n, 'counts are not bounded by the timeline')
  })
})
