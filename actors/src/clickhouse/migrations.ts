import type { ClickHouseClient } from '@clickhouse/client'
import { DEDUPLICATION_WINDOW } from '@hm/runtime'
import { DEFAULT_RETENTION_DAYS } from './retention.ts'
import { EVENT_COLUMNS, SESSION_EVENT_FIELDS, SESSION_EVENT_RUN_FIELDS } from './rows.ts'

interface Migration {
  version: number
  name: string
  statements: (db: string) => string[]
}

/**
 * Versioned, append-only: never edit an applied migration, add the next version. The same SQL runs on a
 * ClickHouse server and on chDB.
 */
const migrations: Migration[] = [
  {
    version: 1,
    name: 'heatmap cells and flush positions',
    statements: (db) => [
      `CREATE TABLE ${db}.heatmap_cells (
        site_id String,
        page String,
        type LowCardinality(String),
        viewport LowCardinality(String),
        hour DateTime('UTC'),
        cell_x UInt16,
        cell_y UInt32,
        count UInt64
      ) ENGINE = SummingMergeTree(count)
      PARTITION BY toYYYYMM(hour)
      ORDER BY (site_id, page, type, viewport, hour, cell_x, cell_y)`,
      // The stream position each shard's flushes have made durable: a replay skips up to it.
      `CREATE TABLE ${db}.flush_positions (
        shard UInt16,
        seq UInt64,
        flushed_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(seq)
      ORDER BY shard`,
    ],
  },
  {
    version: 2,
    name: 'device and country on cells; events, sessions, element clicks, scroll depth; per-site retention',
    statements: (db) => {
      // Rows carry their site's retention when written; `setSiteRetention` rewrites it for older rows.
      const retention = `retention_days UInt16 DEFAULT ${DEFAULT_RETENTION_DAYS}`
      return [
        // New key columns must be added without a default to join the sorting (and so summing) key.
        `ALTER TABLE ${db}.heatmap_cells
          ADD COLUMN device LowCardinality(String),
          ADD COLUMN country LowCardinality(String),
          MODIFY ORDER BY (site_id, page, type, viewport, hour, cell_x, cell_y, device, country)`,
        `ALTER TABLE ${db}.heatmap_cells ADD COLUMN ${retention}`,
        `ALTER TABLE ${db}.heatmap_cells MODIFY TTL hour + toIntervalDay(retention_days)`,
        // Raw events after the privacy rules. Ordered like the cells so a page's events are one range;
        // one session's timeline is found through the bloom filter on session_id.
        `CREATE TABLE IF NOT EXISTS ${db}.events (
          site_id String,
          ts DateTime64(3, 'UTC'),
          session_id String,
          visitor_id String,
          type LowCardinality(String),
          page String,
          viewport LowCardinality(String),
          device LowCardinality(String),
          country LowCardinality(String),
          x UInt32,
          y UInt32,
          vw UInt16,
          vh UInt16,
          dw UInt32,
          dh UInt32,
          selector String,
          value UInt64,
          referrer String,
          ${retention},
          INDEX session_idx session_id TYPE bloom_filter(0.01) GRANULARITY 1
        ) ENGINE = MergeTree
        PARTITION BY toYYYYMM(ts)
        ORDER BY (site_id, page, type, ts)
        TTL toDateTime(ts) + toIntervalDay(retention_days)`,
        // One row per summary written; the highest version of a session is the current one.
        `CREATE TABLE IF NOT EXISTS ${db}.sessions (
          site_id String,
          session_id String,
          visitor_id String,
          started_at DateTime64(3, 'UTC'),
          last_event_at DateTime64(3, 'UTC'),
          duration_ms UInt64,
          pageviews UInt32,
          clicks UInt32,
          rage UInt32,
          rage_clicks UInt32,
          dead UInt32,
          events UInt32,
          entry_page String,
          exit_page String,
          referrer String,
          device LowCardinality(String),
          browser LowCardinality(String),
          os LowCardinality(String),
          country LowCardinality(String),
          viewport LowCardinality(String),
          pages Array(String),
          page_entered_at Array(DateTime64(3, 'UTC')),
          page_dwell_ms Array(UInt64),
          page_max_scroll Array(UInt32),
          page_height Array(UInt32),
          ended UInt8,
          version UInt64,
          ${retention}
        ) ENGINE = ReplacingMergeTree(version)
        PARTITION BY toYYYYMM(started_at)
        ORDER BY (site_id, session_id)
        TTL toDateTime(started_at) + toIntervalDay(retention_days)`,
        `CREATE TABLE IF NOT EXISTS ${db}.element_clicks (
          site_id String,
          page String,
          selector String,
          viewport LowCardinality(String),
          device LowCardinality(String),
          country LowCardinality(String),
          hour DateTime('UTC'),
          off_x UInt8,
          off_y UInt8,
          clicks UInt64,
          rage UInt64,
          rage_clicks UInt64,
          dead UInt64,
          ${retention}
        ) ENGINE = SummingMergeTree((clicks, rage, rage_clicks, dead))
        PARTITION BY toYYYYMM(hour)
        ORDER BY (site_id, page, selector, viewport, device, country, hour, off_x, off_y)
        TTL hour + toIntervalDay(retention_days)`,
        // Starts and ends of the page views' depth segments (see ScrollRow): views reaching band y are
        // sum(starts) over bands <= y minus sum(ends) over bands < y. views and fold_sum sit on band 0.
        `CREATE TABLE IF NOT EXISTS ${db}.scroll_depth (
          site_id String,
          page String,
          viewport LowCardinality(String),
          device LowCardinality(String),
          country LowCardinality(String),
          hour DateTime('UTC'),
          band UInt32,
          starts UInt64,
          ends UInt64,
          views UInt64,
          fold_sum UInt64,
          ${retention}
        ) ENGINE = SummingMergeTree((starts, ends, views, fold_sum))
        PARTITION BY toYYYYMM(hour)
        ORDER BY (site_id, page, viewport, device, country, hour, band)
        TTL hour + toIntervalDay(retention_days)`,
      ]
    },
  },
  {
    version: 3,
    name: 'daily rollup of heatmap cells',
    // A busy page hits most of its cells every hour, so hourly rows barely shrink a month of clicks; a
    // day's rows do. Long ranges read whole days here and only their ragged ends from heatmap_cells.
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${db}.heatmap_cells_daily (
        site_id String,
        page String,
        type LowCardinality(String),
        viewport LowCardinality(String),
        device LowCardinality(String),
        country LowCardinality(String),
        day Date,
        cell_x UInt16,
        cell_y UInt32,
        count UInt64,
        retention_days UInt16 DEFAULT ${DEFAULT_RETENTION_DAYS}
      ) ENGINE = SummingMergeTree(count)
      PARTITION BY toYYYYMM(day)
      ORDER BY (site_id, page, type, day, viewport, device, country, cell_x, cell_y)
      TTL day + toIntervalDay(retention_days)`,
      // Migrations run before the runtime writes, so the backfill and the view cannot overlap.
      `INSERT INTO ${db}.heatmap_cells_daily
        SELECT site_id, page, type, viewport, device, country, toDate(hour), cell_x, cell_y, count, retention_days
        FROM ${db}.heatmap_cells`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.heatmap_cells_daily_mv TO ${db}.heatmap_cells_daily AS
        SELECT site_id, page, type, viewport, device, country, toDate(hour) AS day, cell_x, cell_y, count, retention_days
        FROM ${db}.heatmap_cells`,
    ],
  },
  {
    version: 4,
    name: 'flushes stored once per token; positions move to the runtime',
    // A flush is committed to the runtime's journal and then applied with one deduplication token per
    // table, so applying it again after a crash stores nothing twice. Its positions are the runtime's.
    statements: (db) => [
      ...['heatmap_cells', 'heatmap_cells_daily', 'element_clicks', 'events', 'scroll_depth', 'sessions'].map(
        (t) =>
          `ALTER TABLE ${db}.${t} MODIFY SETTING non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`,
      ),
      `DROP TABLE IF EXISTS ${db}.flush_positions`,
    ],
  },
  {
    version: 5,
    name: 'raw events stored per session and flush',
    // A row per event made ClickHouse parse, sort and merge every event's site, session and visitor ids:
    // the costliest part of ingest. Now a session's events of one flush are one row of arrays, ordered by
    // session, which is also how cursor replay reads them. Rows stored before stay where they are (renamed,
    // expiring by their TTL); the `events` view shows both, one row per event, as the table did.
    statements: (db) => [
      `RENAME TABLE IF EXISTS ${db}.events TO ${db}.events_v4`,
      `CREATE TABLE IF NOT EXISTS ${db}.session_events (
        site_id String,
        session_id String,
        visitor_id String,
        device LowCardinality(String),
        country LowCardinality(String),
        ts0 DateTime64(3, 'UTC'),
        ts Array(DateTime64(3, 'UTC')),
        type Array(LowCardinality(String)),
        page Array(String),
        viewport Array(LowCardinality(String)),
        x Array(UInt32),
        y Array(UInt32),
        vw Array(UInt16),
        vh Array(UInt16),
        dw Array(UInt32),
        dh Array(UInt32),
        selector Array(String),
        value Array(UInt64),
        referrer Array(String),
        retention_days UInt16 DEFAULT ${DEFAULT_RETENTION_DAYS}
      ) ENGINE = MergeTree
      PARTITION BY toYYYYMM(ts0)
      ORDER BY (site_id, session_id, ts0)
      TTL toDateTime(ts0) + toIntervalDay(retention_days)
      SETTINGS non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`,
      `CREATE VIEW IF NOT EXISTS ${db}.events AS
        SELECT ${EVENT_COLUMNS.join(', ')}, retention_days FROM ${db}.events_v4
        UNION ALL
        SELECT ${EVENT_COLUMNS.join(', ')}, retention_days FROM ${db}.session_events
        ARRAY JOIN ${SESSION_EVENT_FIELDS.join(', ')}`,
    ],
  },
  {
    version: 6,
    name: 'raw events in a shorter layout',
    // Parsing the raw events' rows was most of what ClickHouse spent on ingest: per event a 13-digit
    // timestamp, the type's and the viewport's names and the page's URL, again and again. Now times are ms
    // after the row's first, types a code, each page written once per row and indexed, and the viewport
    // class left to the view (it follows from vw, as `viewportClass` says). Rows stored before stay in
    // `session_events`; the `events` view shows all three tables, one row per event.
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${db}.session_events_v6 (
        site_id String,
        session_id String,
        visitor_id String,
        device LowCardinality(String),
        country LowCardinality(String),
        ts0 DateTime64(3, 'UTC'),
        pages Array(String),
        dt Array(UInt64),
        type Array(${TYPE_ENUM}),
        page_no Array(UInt32),
        x Array(UInt32),
        y Array(UInt32),
        vw Array(UInt16),
        vh Array(UInt16),
        dw Array(UInt32),
        dh Array(UInt32),
        selector Array(String),
        value Array(UInt64),
        referrer Array(String),
        retention_days UInt16 DEFAULT ${DEFAULT_RETENTION_DAYS}
      ) ENGINE = MergeTree
      PARTITION BY toYYYYMM(ts0)
      ORDER BY (site_id, session_id, ts0)
      TTL toDateTime(ts0) + toIntervalDay(retention_days)
      SETTINGS non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`,
      `DROP VIEW IF EXISTS ${db}.events`,
      `CREATE VIEW ${db}.events AS
        SELECT ${EVENT_COLUMNS.join(', ')}, retention_days FROM ${db}.events_v4
        UNION ALL
        SELECT ${EVENT_COLUMNS.join(', ')}, retention_days FROM ${db}.session_events
        ARRAY JOIN ${SESSION_EVENT_FIELDS.join(', ')}
        UNION ALL
        SELECT ${EVENT_COLUMNS.map((c) => V6_EVENT_COLUMNS[c] ?? c).join(', ')}, retention_days
        FROM (
          SELECT * EXCEPT type, type AS type_code FROM ${db}.session_events_v6
          ARRAY JOIN ${SESSION_EVENT_RUN_FIELDS.join(', ')}
        )`,
    ],
  },
  {
    version: 7,
    name: 'raw events: a field the same for every event of a row is stored once',
    // Within one session's flush the viewport, the document's size, the page and often the type stay the
    // same, and most events have no selector, value or referrer: each such field is now one value (an
    // array of length 1) instead of one per event, and the view reads it for every event of the row. Rows
    // written before, every field in full, read as they did (an array of length 1 then has one event).
    statements: (db) => [
      `DROP VIEW IF EXISTS ${db}.events`,
      `CREATE VIEW ${db}.events AS
        SELECT ${EVENT_COLUMNS.join(', ')}, retention_days FROM ${db}.events_v4
        UNION ALL
        SELECT ${EVENT_COLUMNS.join(', ')}, retention_days FROM ${db}.session_events
        ARRAY JOIN ${SESSION_EVENT_FIELDS.join(', ')}
        UNION ALL
        SELECT ${EVENT_COLUMNS.map((c) => V7_EVENT_COLUMNS[c] ?? c).join(', ')}, retention_days
        FROM (
          SELECT site_id, session_id, visitor_id, device, country, ts0, pages, dt, n, retention_days,
            ${PER_EVENT_V7.map((c) => `${c} AS ${c}_a`).join(', ')}
          FROM ${db}.session_events_v6
          ARRAY JOIN dt, arrayEnumerate(dt) AS n
        )`,
    ],
  },
]

/** The per-event fields of `session_events_v6` that may hold one value for all the row's events. */
const PER_EVENT_V7 = SESSION_EVENT_RUN_FIELDS.filter((c) => c !== 'dt')

/** Field `c` of the row's n-th event: its own value, or the row's one value (migration 7). */
const nth = (c: string): string => `if(length(${c}_a) = 1, ${c}_a[1], ${c}_a[n])`

/**
 * The columns of `events` that `session_events_v6` derives (migration 7), each as an expression over one
 * of its rows after the ARRAY JOIN of dt and the event's number n (the other arrays renamed `<name>_a`: an
 * alias may not reuse the name it reads); the viewport class as `viewportClass` gives it.
 */
const V7_EVENT_COLUMNS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(PER_EVENT_V7.map((c) => [c, `${nth(c)} AS ${c}`])),
  ts: 'addMilliseconds(ts0, dt) AS ts',
  type: `CAST(${nth('type')}, 'LowCardinality(String)') AS type`,
  page: `pages[${nth('page_no')} + 1] AS page`,
  viewport: viewportOf(nth('vw')),
}

/**
 * The event types of `session_events_v6` by their code, the index in `heatmapTypes` (a test holds them
 * equal). Written out, as a migration's SQL never changes: a new type is a new migration.
 */
const TYPE_ENUM =
  "Enum8('click' = 0, 'move' = 1, 'scroll' = 2, 'attention' = 3, 'rage' = 4, 'dead' = 5, 'pageview' = 6)"

/**
 * The columns of `events` that `session_events_v6` derives, each as an expression over one of its rows
 * after the ARRAY JOIN (with type renamed `type_code`: an alias may not reuse the name it reads); the
 * viewport class as `viewportClass` gives it.
 */
const V6_EVENT_COLUMNS: Readonly<Record<string, string>> = {
  ts: 'addMilliseconds(ts0, dt) AS ts',
  type: "CAST(type_code, 'LowCardinality(String)') AS type",
  page: 'pages[page_no + 1] AS page',
  viewport: viewportOf('vw'),
}

/** The `viewport` column over a width `vw`, with `viewportClass`'s thresholds (a test holds them equal). */
function viewportOf(vw: string): string {
  return `CAST(multiIf(${vw} < 768, 'mobile', ${vw} < 1024, 'tablet', 'desktop'), 'LowCardinality(String)') AS viewport`
}

/**
 * Applies the migrations not yet recorded in `<db>.schema_migrations`, in order (up to `upTo`, all by
 * default; tests of an upgrade stop early). Safe to run at every start.
 */
export async function migrateClickHouse(
  client: ClickHouseClient,
  db: string,
  options: { upTo?: number } = {},
): Promise<number[]> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) throw new Error(`bad ClickHouse database name: ${db}`)
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` })
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (
      version UInt32, name String, applied_at DateTime('UTC') DEFAULT now()
    ) ENGINE = MergeTree ORDER BY version`,
  })
  const rs = await client.query({
    query: `SELECT version FROM ${db}.schema_migrations`,
    format: 'JSONEachRow',
  })
  const done = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)))
  const applied: number[] = []
  for (const m of migrations) {
    if (done.has(m.version) || m.version > (options.upTo ?? Number.POSITIVE_INFINITY)) continue
    for (const query of m.statements(db)) await client.command({ query })
    await client.insert({
      table: `${db}.schema_migrations`,
      values: [{ version: m.version, name: m.name }],
      format: 'JSONEachRow',
    })
    applied.push(m.version)
  }
  return applied
}
