import type { ClickHouseClient } from '@clickhouse/client'

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
]

/** Applies the migrations not yet recorded in `<db>.schema_migrations`, in order. Safe to run at every start. */
export async function migrateClickHouse(client: ClickHouseClient, db: string): Promise<number[]> {
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
    if (done.has(m.version)) continue
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
