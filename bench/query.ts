/**
 * Query bench: a one-page, 30-day click heatmap from `heatmap_cells` (what the API reads) against the
 * same answer computed from raw `events`, both in ClickHouse on chDB, measured in the same run.
 *
 * Data: `BENCH_QUERY_EVENTS` synthetic clicks (default the 10,000,000) over 1,000 pages (skewed:
 * the busiest page gets about 3 % of them, and 90 % of a page's clicks fall around 50 elements) and the
 * last 30 days, generated inside ClickHouse (`numbers()`) and aggregated into cells exactly as the page
 * actors do (column = x / document width of 128, row = y / 16, per UTC hour; the daily rollup fills
 * itself through its view). Every table is merged before measuring, as it would be in steady state, and
 * every page's cells are checked to hold its events. The query is the API's: whole days from the daily
 * rollup, the ragged hours at the ends from the hourly cells.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EVENT_COLUMNS, HeatmapQueries, migrateClickHouse, openClickHouse } from '@hm/actors'

const N = Number(process.env.BENCH_QUERY_EVENTS ?? 10_000_000)
const RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 60)
const PAGES = 1000
const DAY = 86_400_000
const SITE = 'bench-site'
/** What every generated click shares. */
const CLICK = { site: SITE, type: 'click', viewport: 'desktop', device: 'desktop', country: 'DE' }

/**
 * The synthetic clicks, one row per `number`, as the events table's columns plus `page_index`. Both the
 * events and the cells are selected from this one definition, so they describe the same clicks.
 *
 * page = floor(1000 · u²): page 0 holds √(1/1000) ≈ 3.2 % of the clicks, the long tail the rest. Like
 * real clicks, 90 % land on one of 50 elements per page (±24 px × ±16 px around it), 10 % anywhere.
 */
const GENERATE = `
  SELECT {site:String} AS site_id, ts, session AS session_id, 'v' AS visitor_id, {type:String} AS type, page_index,
    concat('/p/', toString(page_index)) AS page, {viewport:String} AS viewport, {device:String} AS device,
    {country:String} AS country,
    if(noise, intHash64(number * 7) % 1280, toUInt32(greatest(0, least(1279, hx + toInt32(intHash64(number * 17) % 49) - 24)))) AS x,
    if(noise, intHash64(number * 11) % 4000, toUInt32(greatest(0, least(3999, hy + toInt32(intHash64(number * 19) % 33) - 16)))) AS y,
    1280 AS vw, 800 AS vh, 1280 AS dw, 4000 AS dh, '' AS selector, 0 AS value, '' AS referrer
  FROM (
    SELECT number,
      fromUnixTimestamp64Milli(toInt64({from:Int64} + intHash64(number) % {span:UInt64}), 'UTC') AS ts,
      concat('s', toString(intHash64(number * 3) % 200000)) AS session,
      toUInt32(floor(${PAGES} * pow((intHash64(number * 5) % 1000000) / 1000000, 2))) AS page_index,
      concat('/p/', toString(page_index)) AS page_name,
      intHash64(number * 13) % 50 AS k,
      intHash64(number * 23) % 10 = 0 AS noise,
      toInt32(cityHash64(page_name, k) % 1200) + 40 AS hx,
      toInt32(cityHash64(k, page_name) % 3900) + 50 AS hy
    FROM numbers({n:UInt64})
  )`

/**
 * One block per INSERT, so each monthly partition gets a single part: the tables start out merged, as
 * in steady state, instead of merging gigabytes afterwards (or in the background while measuring).
 */
const ONE_PART = {
  max_insert_threads: '1',
  min_insert_block_size_rows: '0',
  min_insert_block_size_bytes: String(64 * 1024 ** 3),
} as const

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function time(fn: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  for (let i = 0; i < 3; i++) await fn() // warm-up
  const ms: number[] = []
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    await fn()
    ms.push(performance.now() - t0)
  }
  ms.sort((a, b) => a - b)
  return { p50: percentile(ms, 50), p95: percentile(ms, 95) }
}

async function measure(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hm-bench-query-'))
  const client = openClickHouse({ dataDir: dir })
  const db = 'bench'
  try {
    await migrateClickHouse(client, db)
    // The baseline's raw clicks, one row per event ordered by page (the layout of `events_v4`): the
    // strongest raw layout for a page's heatmap. The product stores raw events per session instead.
    await client.command({ query: `CREATE TABLE ${db}.raw_events AS ${db}.events_v4` })
    // A 30-day range ending now: 29 whole days from the rollup, partial days at both ends from the hours.
    const to = Math.floor(Date.now() / 60_000) * 60_000
    const from = to - 30 * DAY
    const t0 = performance.now()
    const seconds = (since: number): string => ((performance.now() - since) / 1000).toFixed(1)
    const timed = async (fn: () => Promise<unknown>): Promise<string> => {
      const start = performance.now()
      await fn()
      return seconds(start)
    }
    const gen = { ...CLICK, from, span: to - from, n: N }
    const eventsS = await timed(() =>
      client.command({
        query: `INSERT INTO ${db}.raw_events (${EVENT_COLUMNS.join(', ')}) SELECT ${EVENT_COLUMNS.join(', ')} FROM (${GENERATE})`,
        query_params: gen,
        clickhouse_settings: ONE_PART,
      }),
    )
    // The cells of those clicks, by the page actors' math. Site, type, viewport, device and country are
    // the same on every generated row, so a cell's key is page × hour × column × row: packed into one
    // UInt64, which ClickHouse groups about ten times faster than the same key as separate columns.
    const cellsS = await timed(() =>
      client.command({
        query: `INSERT INTO ${db}.heatmap_cells (site_id, page, type, viewport, device, country, hour, cell_x, cell_y, count)
            SELECT {site:String}, concat('/p/', toString(bitShiftRight(key, 48))), {type:String}, {viewport:String},
              {device:String}, {country:String}, toDateTime(bitAnd(bitShiftRight(key, 24), 0xFFFFFF) * 3600, 'UTC'),
              bitAnd(bitShiftRight(key, 16), 0xFF), bitAnd(key, 0xFFFF), count()
            FROM (${GENERATE})
            GROUP BY bitOr(
              bitOr(bitShiftLeft(toUInt64(page_index), 48), bitShiftLeft(intDiv(toUInt64(toUnixTimestamp(toStartOfHour(ts))), 3600), 24)),
              bitOr(bitShiftLeft(toUInt64(least(127, intDiv(x * 128, dw))), 16), toUInt64(least(62500, intDiv(y, 16))))
            ) AS key`,
        query_params: gen,
        // Every key is new, so summing on insert would find nothing to sum.
        clickhouse_settings: { ...ONE_PART, optimize_on_insert: 0 },
      }),
    )
    // The daily rollup's view wrote one row per hourly row; merging sums them into days, as in steady state.
    const dailyS = await timed(() =>
      client.command({ query: `OPTIMIZE TABLE ${db}.heatmap_cells_daily FINAL` }),
    )
    const builtS = seconds(t0)
    /** The first value of a one-row answer, as JSON text (a count as a string, an array as an array). */
    const one = async (query: string): Promise<string> => {
      const rs = await client.query({ query, format: 'JSONCompactEachRow' })
      return JSON.stringify((await rs.json<[unknown]>())[0]![0])
    }
    const rows = async (table: string) => Number(JSON.parse(await one(`SELECT count() FROM ${db}.${table}`)))
    const [events, cells, daily] = [
      await rows('raw_events'),
      await rows('heatmap_cells'),
      await rows('heatmap_cells_daily'),
    ]
    // Every page's cells hold exactly its stored clicks, in the hourly table and in the rollup.
    const perPage = (table: string, n: string) =>
      one(
        `SELECT groupArray((page, n)) FROM (SELECT page, ${n} AS n FROM ${db}.${table} GROUP BY page ORDER BY page)`,
      )
    const byPage = await perPage('raw_events', 'count()')
    for (const table of ['heatmap_cells', 'heatmap_cells_daily'])
      if ((await perPage(table, 'sum(count)')) !== byPage)
        throw new Error(`per-page totals of ${table} and events disagree`)
    const parts = JSON.parse(
      await one(
        `SELECT arrayStringConcat(groupArray(concat(table, ' ', toString(n))), ', ') FROM (SELECT table, count() AS n FROM system.parts WHERE database = '${db}' AND active AND table IN ('raw_events', 'heatmap_cells', 'heatmap_cells_daily') GROUP BY table ORDER BY table)`,
      ),
    ) as string

    const q = new HeatmapQueries(client, db)
    const page = '/p/0'
    const fromCells = () => q.heatmap({ siteId: SITE, page, type: 'click', from, to })
    // The same answer from the raw rows: the actors' grid math in SQL.
    const fromEvents = async () => {
      const rs = await client.query({
        query: `SELECT least(127, intDiv(x * 128, dw)) AS cx, least(62500, intDiv(y, 16)) AS cy, count() AS n
          FROM ${db}.raw_events
          WHERE site_id = {site:String} AND page = {page:String} AND type = 'click'
            AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
          GROUP BY cx, cy ORDER BY cy, cx`,
        query_params: { site: SITE, page, from, to },
        format: 'JSONCompactEachRow',
      })
      return (await rs.json<[number, number, string | number]>()).map(([x, y, n]) => [
        Number(x),
        Number(y),
        Number(n),
      ])
    }
    const a = await fromCells()
    const b = await fromEvents()
    if (JSON.stringify(a.cells) !== JSON.stringify(b)) throw new Error('heatmap_cells and events disagree')
    const raw = await time(fromEvents)
    const agg = await time(fromCells)
    const f = (ms: number): string => `${ms.toFixed(1).padStart(6)} ms`
    console.log(
      `\nquery path, ${N.toLocaleString('en-US')} clicks over ${PAGES} pages and 30 days in ClickHouse on chDB, ${availableParallelism()} cores`,
    )
    console.log(
      `  data      events ${events.toLocaleString('en-US')} rows, heatmap_cells ${cells.toLocaleString('en-US')} rows (daily ${daily.toLocaleString('en-US')}); built in ${builtS} s (events ${eventsS} s, cells ${cellsS} s, daily merge ${dailyS} s); parts per table ${parts}`,
    )
    console.log(
      `  query     one page (${page}, ${a.total.toLocaleString('en-US')} clicks, ${a.cells.length.toLocaleString('en-US')} cells), 30 days, ${RUNS} runs`,
    )
    console.log(`  baseline  from raw events       p50 ${f(raw.p50)}   p95 ${f(raw.p95)}`)
    console.log(
      `  result    from heatmap_cells    p50 ${f(agg.p50)}   p95 ${f(agg.p95)}   ratio p95 ${(raw.p95 / agg.p95).toFixed(2)}× faster (target p95 ≤ 50 ms)`,
    )
  } finally {
    await client.close()
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * The query part of `npm run bench`. It runs in a child process: chDB binds one data directory per
 * process, and other parts may open their own.
 */
export async function queryBench(): Promise<void> {
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
  })
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  if (code !== 0) throw new Error(`query bench exited with ${code}`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await measure()
