/**
 * Query bench: a one-page, 30-day click heatmap from `heatmap_cells` (what the API reads) against the
 * same answer computed from raw `events`, both in ClickHouse on chDB, measured in the same run.
 *
 * Data: `BENCH_QUERY_EVENTS` synthetic clicks (default 3,000,000; the 10,000,000 takes about five
 * minutes to build on two cores) over 1,000 pages (skewed: the busiest page gets about 3 % of them, and
 * 90 % of a page's clicks fall around 50 elements) and the last 30 days,
 * generated inside ClickHouse (`numbers()`), then aggregated into cells exactly as the page actors do
 * (column = x / document width of 128, row = y / 16, per UTC hour; the daily rollup fills itself).
 * Every table is merged before measuring, as it would be in steady state. The query is the API's: whole
 * days from the daily rollup, the ragged hours at the ends from the hourly cells.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { HeatmapQueries, migrateClickHouse, openClickHouse } from '@hm/actors'

const N = Number(process.env.BENCH_QUERY_EVENTS ?? 3_000_000)
const RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 60)
const PAGES = 1000
const DAY = 86_400_000
const SITE = 'bench-site'

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
    // A 30-day range ending now: 29 whole days from the rollup, partial days at both ends from the hours.
    const to = Math.floor(Date.now() / 60_000) * 60_000
    const from = to - 30 * DAY
    const t0 = performance.now()
    // page = floor(1000 · u²): page 0 holds √(1/1000) ≈ 3.2 % of the clicks, the long tail the rest. Like
    // real clicks, 90 % land on one of 50 elements per page (±24 px × ±16 px around it), 10 % anywhere.
    await client.command({
      query: `INSERT INTO ${db}.events (site_id, ts, session_id, visitor_id, type, page, viewport, device, country,
          x, y, vw, vh, dw, dh, selector, value, referrer)
        SELECT {site:String}, ts, session, 'v', 'click', page, 'desktop', 'desktop', 'DE',
          if(noise, intHash64(number * 7) % 1280, toUInt32(greatest(0, least(1279, hx + toInt32(intHash64(number * 17) % 49) - 24)))),
          if(noise, intHash64(number * 11) % 4000, toUInt32(greatest(0, least(3999, hy + toInt32(intHash64(number * 19) % 33) - 16)))),
          1280, 800, 1280, 4000, '', 0, ''
        FROM (
          SELECT number,
            fromUnixTimestamp64Milli(toInt64({from:Int64} + intHash64(number) % {span:UInt64}), 'UTC') AS ts,
            concat('s', toString(intHash64(number * 3) % 200000)) AS session,
            concat('/p/', toString(toUInt32(floor(${PAGES} * pow((intHash64(number * 5) % 1000000) / 1000000, 2))))) AS page,
            intHash64(number * 13) % 50 AS k,
            intHash64(number * 23) % 10 = 0 AS noise,
            toInt32(cityHash64(page, k) % 1200) + 40 AS hx,
            toInt32(cityHash64(k, page) % 3900) + 50 AS hy
          FROM numbers({n:UInt64})
        )`,
      query_params: { site: SITE, from, span: to - from, n: N },
    })
    const loaded = performance.now()
    await client.command({
      query: `INSERT INTO ${db}.heatmap_cells (site_id, page, type, viewport, device, country, hour, cell_x, cell_y, count)
        SELECT site_id, page, type, viewport, device, country, toStartOfHour(ts),
          least(127, intDiv(x * 128, dw)), least(62500, intDiv(y, 16)), count()
        FROM ${db}.events GROUP BY site_id, page, type, viewport, device, country, toStartOfHour(ts),
          least(127, intDiv(x * 128, dw)), least(62500, intDiv(y, 16))`,
    })
    for (const t of ['events', 'heatmap_cells'])
      await client.command({ query: `OPTIMIZE TABLE ${db}.${t} FINAL` })
    const ready = performance.now()
    const rowsOf = async (table: string): Promise<number> => {
      const rs = await client.query({
        query: `SELECT count() FROM ${db}.${table}`,
        format: 'JSONCompactEachRow',
      })
      return Number((await rs.json<[string]>())[0]![0])
    }
    const [events, cells, daily] = [
      await rowsOf('events'),
      await rowsOf('heatmap_cells'),
      await rowsOf('heatmap_cells_daily'),
    ]

    const q = new HeatmapQueries(client, db)
    const page = '/p/0'
    const fromCells = () => q.heatmap({ siteId: SITE, page, type: 'click', from, to })
    // The same answer from the raw rows: the actors' grid math in SQL.
    const fromEvents = async () => {
      const rs = await client.query({
        query: `SELECT least(127, intDiv(x * 128, dw)) AS cx, least(62500, intDiv(y, 16)) AS cy, count() AS n
          FROM ${db}.events
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
      `  data      events ${events.toLocaleString('en-US')} rows, heatmap_cells ${cells.toLocaleString('en-US')} rows (daily ${daily.toLocaleString('en-US')}); generated in ${((loaded - t0) / 1000).toFixed(1)} s, aggregated and merged in ${((ready - loaded) / 1000).toFixed(1)} s`,
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
