import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { ClickHouseClient } from '@clickhouse/client'
import { encodeDrained, type FlushBatch, shardId, streamSeq } from '@hm/runtime'
import {
  type CellRow,
  ClickHouseSink,
  EVENT_COLUMNS,
  type EventRow,
  encodeTableRows,
  HeatmapQueries,
  heatmapTypes,
  hourOf,
  migrateClickHouse,
  openClickHouse,
  PAGE_ACTOR,
  type PageRecord,
  SESSION_ACTOR,
  type SessionEventRunRow,
  type SessionEventsRow,
  SessionQueries,
  type SessionRecord,
  SITE_RETENTION,
  SinkBackoffError,
  setSiteRetention,
  viewportClass,
} from '../../src/index.ts'

let dir: string
let client: ClickHouseClient
const db = `hm_test_${process.pid}`

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hm-ch-'))
  client = openClickHouse({ dataDir: dir })
})
after(async () => {
  await client.close()
  await rm(dir, { recursive: true, force: true })
})

/** Drained records as the workers hand them to the sink, stamped with `retention` (site → days). */
const encode = (drained: Record<string, unknown[]>, retention: Record<string, number> = {}): Uint8Array =>
  encodeTableRows(drained, new Map([[SITE_RETENTION, retention]]))

const cell = (
  site: string,
  page: string,
  type: CellRow[2],
  vc: CellRow[3],
  hour: number,
  x: number,
  y: number,
  n: number,
  device = '',
  country = '',
): PageRecord => ['c', [site, page, type, vc, device, country, hour, x, y, n]]

/** One click of session `session` at `ts` (ms), as a session actor drains it. */
const eventsRow = (site: string, session: string, ts: number): SessionEventRunRow => [
  site,
  session,
  'v',
  'desktop',
  '',
  ts,
  ['/'],
  [0],
  [0],
  [0],
  [1],
  [1],
  [1280],
  [800],
  [1280],
  [3000],
  [''],
  [0],
  [''],
]

async function count(table: string, where = '1'): Promise<number> {
  const rs = await client.query({
    query: `SELECT count() FROM ${db}.${table} WHERE ${where}`,
    format: 'JSONCompactEachRow',
  })
  return Number((await rs.json<[string]>())[0]![0])
}

describe('ClickHouse store on chDB', () => {
  test('migrations apply once, in order, and upgrade a version 1 table with its rows', async () => {
    assert.deepEqual(await migrateClickHouse(client, db, { upTo: 1 }), [1])
    const hour = Date.UTC(2026, 10, 26, 10) / 1000
    // A row written by the version 1 schema (no device, country or retention).
    await client.insert({
      table: `${db}.heatmap_cells`,
      values: [['s0', '/', 'click', 'desktop', hour, 1, 2, 5]],
      format: 'JSONCompactEachRow',
    })
    assert.deepEqual(await migrateClickHouse(client, db), [2, 3, 4, 5, 6, 7])
    assert.deepEqual(await migrateClickHouse(client, db), [])
    const q = new HeatmapQueries(client, db)
    const old = await q.heatmap({
      siteId: 's0',
      page: '/',
      type: 'click',
      from: hour * 1000,
      to: hour * 1000 + 1,
    })
    assert.deepEqual(old.cells, [[1, 2, 5]])
    // The daily rollup was filled from the old rows: a range of whole days (read from it) sees them too.
    const week = { from: Date.UTC(2026, 10, 20), to: Date.UTC(2026, 10, 27) }
    assert.deepEqual((await q.heatmap({ siteId: 's0', page: '/', type: 'click', ...week })).cells, [
      [1, 2, 5],
    ])
    // Old rows count as "unknown" device and country; a new row of the same cell adds up with them.
    const sink = new ClickHouseSink(client, db)
    await sink.write(
      [
        {
          shard: shardId(0),
          upTo: streamSeq(1),
          drained: encode({ [PAGE_ACTOR]: [cell('s0', '/', 'click', 'desktop', hour, 1, 2, 1)] }),
        },
      ],
      'upgrade-1',
    )
    await client.command({ query: `OPTIMIZE TABLE ${db}.heatmap_cells FINAL` })
    assert.equal(await count('heatmap_cells', "site_id = 's0'"), 1, 'summed into one row')
    const rs = await client.query({
      query: `SELECT SUM(count), any(device), any(retention_days) FROM ${db}.heatmap_cells WHERE site_id = 's0'`,
      format: 'JSONCompactEachRow',
    })
    const [sum, device, retention] = (await rs.json<[string | number, string, number]>())[0]!
    assert.deepEqual([Number(sum), device, retention], [6, '', 395])
  })

  test('the sink stores cells once per token; queries sum them per cell and range', async () => {
    const sink = new ClickHouseSink(client, db)
    const hour = Date.UTC(2026, 10, 26, 10) / 1000
    const cells: PageRecord[] = [
      cell('s1', '/', 'click', 'desktop', hour, 10, 5, 3),
      cell('s1', '/', 'click', 'desktop', hour, 10, 5, 2),
      cell('s1', '/', 'click', 'mobile', hour, 1, 1, 4),
      cell('s1', '/', 'click', 'desktop', hour + 7200, 10, 5, 100),
      cell('s1', '/other', 'click', 'desktop', hour, 10, 5, 50),
      cell('s2', '/', 'click', 'desktop', hour, 10, 5, 70),
      cell('s1', '/', 'pageview', 'desktop', hour, 0, 0, 9),
    ]
    const flush: FlushBatch[] = [
      { shard: shardId(1), upTo: streamSeq(10), drained: encode({ [PAGE_ACTOR]: cells.slice(0, 3) }) },
      { shard: shardId(2), upTo: streamSeq(12), drained: encode({ [PAGE_ACTOR]: cells.slice(3) }) },
      { shard: shardId(1), upTo: streamSeq(15), drained: encode({}) },
    ]
    await sink.write(flush, 'cells-1')
    // The same flush applied again (a crash after the write, or another node recovering it): stored once.
    await sink.write(flush, 'cells-1')
    const q = new HeatmapQueries(client, db)
    const base = {
      siteId: 's1',
      page: '/',
      type: 'click' as const,
      from: hour * 1000,
      to: hour * 1000 + 3_600_000,
    }
    const all = await q.heatmap(base)
    assert.equal(all.total, 9)
    assert.deepEqual(all.cells, [
      [1, 1, 4],
      [10, 5, 5],
    ])
    assert.deepEqual((await q.heatmap({ ...base, viewport: 'desktop' })).cells, [[10, 5, 5]])
    assert.equal((await q.heatmap({ ...base, to: base.to + 3 * 3_600_000 })).total, 109)
    assert.deepEqual(await q.pages('s1', base.from, base.to), [{ page: '/', views: 9 }])
  })

  test('a failed flush is retried with backoff; tables written before the failure are not written twice', async () => {
    let now = 1_000_000
    const sink = new ClickHouseSink(client, db, { now: () => now, backoffMs: 500 })
    const hour = hourOf(Date.UTC(2026, 10, 25, 8))
    const session: SessionRecord[] = [['sc', eventsRow('s3', 'x', hour * 1000)]]
    const batch: FlushBatch = {
      shard: shardId(5),
      upTo: streamSeq(40),
      drained: encode({
        [PAGE_ACTOR]: [cell('s3', '/', 'click', 'desktop', hour, 3, 3, 7)],
        [SESSION_ACTOR]: session,
      }),
    }
    // The raw events' table is away: the cells go in, the events insert fails.
    await client.command({ query: `RENAME TABLE ${db}.session_events_v6 TO ${db}.events_away` })
    await assert.rejects(sink.write([batch], 'retry-1'))
    assert.equal(sink.failuresInARow, 1)
    await client.command({ query: `RENAME TABLE ${db}.events_away TO ${db}.session_events_v6` })
    now += 100
    await assert.rejects(
      sink.write([batch], 'retry-1'),
      SinkBackoffError,
      'inside the backoff window: not even tried',
    )
    now += 500
    // The host applies the same committed flush again (new batch objects, same records, same token)...
    await sink.write([{ ...batch }], 'retry-1')
    assert.equal(sink.failuresInARow, 0)
    // ...and then the next one.
    const later: FlushBatch = {
      shard: shardId(5),
      upTo: streamSeq(41),
      drained: encode({ [PAGE_ACTOR]: [cell('s3', '/', 'click', 'desktop', hour, 3, 3, 1)] }),
    }
    await sink.write([later], 'retry-2')
    const q = new HeatmapQueries(client, db)
    const h = await q.heatmap({
      siteId: 's3',
      page: '/',
      type: 'click',
      from: hour * 1000,
      to: hour * 1000 + 1,
    })
    assert.deepEqual(h.cells, [[3, 3, 8]], '7 once, plus 1')
    assert.equal(await count('events', "site_id = 's3'"), 1)
  })

  test('a journal batch of the earlier layout (records, not rows) is written with its sites’ retention', async () => {
    // Committed before an upgrade and applied after it: msgpack of { [actorType]: records }.
    const sink = new ClickHouseSink(client, db, { retention: () => ({ legacy: 30 }) })
    const hour = hourOf(Date.now())
    const drained = encodeDrained(
      { [PAGE_ACTOR]: [cell('legacy', '/', 'click', 'desktop', hour, 2, 2, 4)] },
      new Map(),
    )
    await sink.write([{ shard: shardId(3), upTo: streamSeq(5), drained }], 'legacy-1')
    const rs = await client.query({
      query: `SELECT toString(sum(count)), any(retention_days) FROM ${db}.heatmap_cells WHERE site_id = 'legacy'`,
      format: 'JSONCompactEachRow',
    })
    assert.deepEqual(await rs.json(), [['4', 30]])
  })

  test('rows expire by their site retention; changing a site retention applies to stored rows', async () => {
    const days = 86_400_000
    const oldHour = hourOf(Date.now() - 60 * days)
    const sink = new ClickHouseSink(client, db)
    // The workers stamp each row with its site's retention, as the host shares it.
    const drained = encode(
      {
        [PAGE_ACTOR]: [
          cell('short', '/', 'click', 'desktop', oldHour, 1, 1, 1),
          cell('long', '/', 'click', 'desktop', oldHour, 1, 1, 1),
        ],
        [SESSION_ACTOR]: [
          ['sc', eventsRow('short', 'x', oldHour * 1000)],
          ['sc', eventsRow('long', 'x', oldHour * 1000)],
        ] satisfies SessionRecord[],
      },
      { short: 30, long: 395 },
    )
    await sink.write([{ shard: shardId(9), upTo: streamSeq(1), drained }], 'retention-1')
    for (const t of ['heatmap_cells', 'session_events_v6'])
      await client.command({ query: `OPTIMIZE TABLE ${db}.${t} FINAL` })
    assert.equal(
      await count('heatmap_cells', "site_id = 'short'"),
      0,
      '60-day-old cells of a 30-day site are gone',
    )
    assert.equal(await count('events', "site_id = 'short'"), 0)
    assert.equal(await count('heatmap_cells', "site_id = 'long'"), 1)
    await setSiteRetention(client, db, 'long', 30)
    for (const t of ['heatmap_cells', 'session_events_v6'])
      await client.command({ query: `OPTIMIZE TABLE ${db}.${t} FINAL` })
    assert.equal(await count('heatmap_cells', "site_id = 'long'"), 0)
    assert.equal(await count('events', "site_id = 'long'"), 0)
  })

  test('raw events are stored with their type as its code in heatmapTypes; the view classes vw as viewportClass does', async () => {
    const at = Date.UTC(2026, 10, 26, 12)
    const codes = heatmapTypes.map((_, i) => i)
    // Widths at the class boundaries (the view's SQL repeats viewportClass's thresholds).
    const widths = [767, 768, 1023, 1024, 1, 2000, 390].slice(0, codes.length)
    const ones = codes.map(() => 1)
    const row: SessionEventRunRow = [
      'codes',
      'x',
      'v',
      'desktop',
      '',
      at,
      ['/'],
      codes,
      codes,
      codes.map(() => 0),
      ones,
      ones,
      widths,
      ones,
      ones,
      ones,
      codes.map(() => ''),
      codes.map(() => 0),
      codes.map(() => ''),
    ]
    await new ClickHouseSink(client, db).write(
      [{ shard: shardId(1), upTo: streamSeq(1), drained: encode({ [SESSION_ACTOR]: [['sc', row]] }) }],
      'codes-1',
    )
    const rs = await client.query({
      query: `SELECT type, viewport FROM ${db}.events WHERE site_id = 'codes' ORDER BY ts`,
      format: 'JSONCompactEachRow',
    })
    const rows = await rs.json<[string, string]>()
    assert.deepEqual(
      rows.map(([t]) => t),
      [...heatmapTypes],
    )
    assert.deepEqual(
      rows.map(([, v]) => v),
      widths.map(viewportClass),
    )
  })

  test('upgrades keep raw events stored in every earlier layout, and journal records of them from before', async () => {
    const up = `${db}_up`
    assert.deepEqual(await migrateClickHouse(client, up, { upTo: 4 }), [1, 2, 3, 4])
    const t = Date.UTC(2026, 10, 26, 10)
    const old: EventRow = [
      'up',
      t,
      'a',
      'v',
      'click',
      '/',
      'desktop',
      '',
      '',
      5,
      6,
      1280,
      800,
      1280,
      3000,
      '',
      0,
      '',
    ]
    await client.insert({
      table: `${up}.events (${EVENT_COLUMNS.join(', ')})`,
      values: [old],
      format: 'JSONCompactEachRow',
    })
    assert.deepEqual(await migrateClickHouse(client, up, { upTo: 5 }), [5])
    // Stored between migrations 5 and 6: a row of arrays per session and flush, every field in full.
    const v5 = (session: string, at: number): SessionEventsRow => [
      'up',
      session,
      'v',
      'mobile',
      '',
      at,
      [at + 1000, at],
      ['move', 'click'],
      ['/x', '/'],
      ['mobile', 'mobile'],
      [7, 8],
      [9, 10],
      [390, 390],
      [800, 800],
      [390, 390],
      [3000, 3000],
      ['', 'a.b'],
      [40, 0],
      ['', ''],
    ]
    await new ClickHouseSink(client, up).write(
      [
        {
          shard: shardId(0),
          upTo: streamSeq(1),
          drained: encode({ [SESSION_ACTOR]: [['se', v5('c', t + 2000)]] }),
        },
      ],
      'up-0',
    )
    assert.deepEqual(await migrateClickHouse(client, up, { upTo: 6 }), [6])
    const sink = new ClickHouseSink(client, up)
    // Committed before the upgrades (records, then a row per event; a row of v5's layout), applied after.
    const older: EventRow = [...old]
    older[1] = t + 1000
    older[2] = 'b'
    const legacy = encodeDrained({ [SESSION_ACTOR]: [['ev', older]] }, new Map())
    const before6 = encode({ [SESSION_ACTOR]: [['se', v5('d', t + 4000)]] })
    const now = encode({
      [SESSION_ACTOR]: [
        [
          'sc',
          [
            'up',
            'e',
            'v',
            'desktop',
            '',
            t + 6000,
            ['/', '/y'],
            [1000, 0, 500],
            [1, 0, 6],
            [1, 0, 1],
            [7, 8, 0],
            [9, 10, 0],
            [1280, 1280, 1000],
            [800, 800, 700],
            [1280, 1280, 1000],
            [3000, 3000, 5000],
            ['', 'a.b', ''],
            [40, 0, 0],
            ['', '', 'https://ref.example/'],
          ],
        ],
      ] satisfies SessionRecord[],
    })
    await sink.write(
      [
        { shard: shardId(0), upTo: streamSeq(2), drained: legacy },
        { shard: shardId(0), upTo: streamSeq(3), drained: before6 },
        { shard: shardId(0), upTo: streamSeq(4), drained: now },
      ],
      'up-1',
    )
    assert.deepEqual(await migrateClickHouse(client, up), [7])
    // Since migration 7: a field the same for every event of the row is one value.
    const once = encode({
      [SESSION_ACTOR]: [
        [
          'sc',
          [
            'up',
            'f',
            'v',
            'mobile',
            '',
            t + 8000,
            ['/z'],
            [0, 250, 100],
            [0],
            [0],
            [1, 2, 3],
            [4, 5, 6],
            [390],
            [844],
            [390],
            [6000],
            [''],
            [0],
            [''],
          ],
        ],
      ] satisfies SessionRecord[],
    })
    await sink.write([{ shard: shardId(0), upTo: streamSeq(5), drained: once }], 'up-2')
    // The `events` view shows every raw event, one row each, whichever table holds it.
    const rs = await client.query({
      query: `SELECT session_id, toUnixTimestamp64Milli(ts), type, page, viewport, x, y, vw, selector, value,
          referrer FROM ${up}.events WHERE site_id = 'up' ORDER BY ts, session_id`,
      format: 'JSONCompactEachRow',
    })
    assert.deepEqual(
      (await rs.json<unknown[]>()).map((r) =>
        r.map((v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v)),
      ),
      [
        ['a', t, 'click', '/', 'desktop', 5, 6, 1280, '', 0, ''],
        ['b', t + 1000, 'click', '/', 'desktop', 5, 6, 1280, '', 0, ''],
        ['c', t + 2000, 'click', '/', 'mobile', 8, 10, 390, 'a.b', 0, ''],
        ['c', t + 3000, 'move', '/x', 'mobile', 7, 9, 390, '', 40, ''],
        ['d', t + 4000, 'click', '/', 'mobile', 8, 10, 390, 'a.b', 0, ''],
        ['d', t + 5000, 'move', '/x', 'mobile', 7, 9, 390, '', 40, ''],
        ['e', t + 6000, 'click', '/', 'desktop', 8, 10, 1280, 'a.b', 0, ''],
        ['e', t + 6500, 'pageview', '/y', 'tablet', 0, 0, 1000, '', 0, 'https://ref.example/'],
        ['e', t + 7000, 'move', '/y', 'desktop', 7, 9, 1280, '', 40, ''],
        ['f', t + 8000, 'click', '/z', 'mobile', 1, 4, 390, '', 0, ''],
        ['f', t + 8100, 'click', '/z', 'mobile', 3, 6, 390, '', 0, ''],
        ['f', t + 8250, 'click', '/z', 'mobile', 2, 5, 390, '', 0, ''],
      ],
    )
    for (const session of ['c', 'e']) {
      const timeline = await new SessionQueries(client, up).timeline('up', session)
      assert.deepEqual(
        timeline.map((e) => [e.ts - t, e.type, e.page]),
        session === 'c'
          ? [
              [2000, 'click', '/'],
              [3000, 'move', '/x'],
            ]
          : [
              [6000, 'click', '/'],
              [6500, 'pageview', '/y'],
              [7000, 'move', '/y'],
            ],
      )
    }
    const f = await new SessionQueries(client, up).timeline('up', 'f')
    assert.deepEqual(
      f.map((e) => [e.ts - t, e.type, e.page, e.x, e.y]),
      [
        [8000, 'click', '/z', 1, 4],
        [8100, 'click', '/z', 3, 6],
        [8250, 'click', '/z', 2, 5],
      ],
    )
    // Retention changes reach the rows under the view.
    await setSiteRetention(client, up, 'up', 30)
    const days = await client.query({
      query: `SELECT DISTINCT retention_days FROM ${up}.events WHERE site_id = 'up'`,
      format: 'JSONCompactEachRow',
    })
    assert.deepEqual(await days.json(), [[30]])
    await client.command({ query: `DROP DATABASE ${up} SYNC` })
  })
})
