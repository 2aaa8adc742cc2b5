import type { ClickHouseClient } from '@clickhouse/client'
import { type ShardId, type StreamSeq, shardId, streamSeq } from './ids.ts'
import {
  type ActorRef,
  type DeadLetterRecord,
  type FlushRecord,
  isPending,
  type ReminderRecord,
  type RuntimeChanges,
  type RuntimeStore,
  refId,
  type SaveToken,
} from './store.ts'

/** How many recent inserts of a table ClickHouse remembers to drop a retried one (`insertOnce`). */
export const DEDUPLICATION_WINDOW = 10_000

/**
 * The `table` argument of `client.insert` for an insert ClickHouse stores once per `token`: the table must
 * have a `non_replicated_deduplication_window`. The token goes in the statement's own SETTINGS clause, not
 * in `clickhouse_settings`: chDB's connection turns those into `SET`s that stay on its one session, so
 * every later insert would carry the token (and be dropped as a repeat).
 *
 * @example
 * await client.insert({ table: insertOnce('db.events', ['a', 'b'], 'flush-42:events'), values, format })
 */
export function insertOnce(table: string, columns: readonly string[], token: string): string {
  const settings = Object.entries(onceSettings(token)).map(
    ([k, v]) => `${k} = ${typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : v}`,
  )
  return `${table} (${columns.join(', ')}) SETTINGS ${settings.join(', ')}`
}

/** The settings of an insert ClickHouse stores once per `token` (`insertOnce`), as name → value. */
export function onceSettings(token: string): Record<string, string | number> {
  return { insert_deduplication_token: token, deduplicate_blocks_in_dependent_materialized_views: 1 }
}

const migrations: Array<(db: string) => string> = [
  (db) => `CREATE TABLE ${db}.rt_snapshots (
    type LowCardinality(String), key String, shard UInt16, version UInt64, data String, deleted UInt8
  ) ENGINE = ReplacingMergeTree(version) ORDER BY (type, key)`,
  (db) => `CREATE TABLE ${db}.rt_reminders (
    type LowCardinality(String), key String, name String, shard UInt16, version UInt64,
    at DateTime64(3, 'UTC'), message String, deleted UInt8
  ) ENGINE = ReplacingMergeTree(version) ORDER BY (shard, type, key, name)`,
  (db) => `CREATE TABLE ${db}.rt_dead_letters (
    at DateTime64(3, 'UTC'), shard UInt16, seq UInt64, type LowCardinality(String), key String, reason String
  ) ENGINE = MergeTree ORDER BY at TTL toDateTime(at) + INTERVAL 30 DAY`,
  // Committed flushes. Hourly partitions: applied records go by dropping whole partitions (prune).
  (db) => `CREATE TABLE ${db}.rt_journal (
    id String, version UInt64, at DateTime64(3, 'UTC'), positions Array(Tuple(UInt16, UInt64)), payload String
  ) ENGINE = MergeTree PARTITION BY toStartOfHour(at) ORDER BY (at, id)
    SETTINGS non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`,
  (db) => `CREATE TABLE ${db}.rt_positions (shard UInt16, seq UInt64, at DateTime64(3, 'UTC'))
    ENGINE = ReplacingMergeTree(seq) ORDER BY shard`,
  ...['rt_snapshots', 'rt_reminders', 'rt_dead_letters'].map(
    (t) => (db: string) =>
      `ALTER TABLE ${db}.${t} MODIFY SETTING non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`,
  ),
]

/** Base64 of bytes, read in place (`Buffer.from(bytes)` would copy them first). */
function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

const SNAPSHOT_COLUMNS = ['type', 'key', 'shard', 'version', 'data', 'deleted']
const REMINDER_COLUMNS = ['type', 'key', 'name', 'shard', 'version', 'at', 'message', 'deleted']
const LETTER_COLUMNS = ['at', 'shard', 'seq', 'type', 'key', 'reason']

/**
 * The runtime store on ClickHouse (a server or chDB through the same client). Its tables are the
 * runtime's own, with their own migration record, so the runtime stays independent of its users.
 */
export class ClickHouseRuntimeStore implements RuntimeStore {
  private version = Date.now() * 1000

  constructor(
    private readonly client: ClickHouseClient,
    private readonly db: string,
  ) {}

  /** Later writes must win even within one millisecond: versions are time-based and strictly rising. */
  private nextVersion(): number {
    this.version = Math.max(this.version + 1, Date.now() * 1000)
    return this.version
  }

  async migrate(): Promise<void> {
    await this.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${this.db}` })
    await this.client.command({
      query: `CREATE TABLE IF NOT EXISTS ${this.db}.rt_schema_migrations (version UInt32) ENGINE = MergeTree ORDER BY version`,
    })
    const rs = await this.client.query({
      query: `SELECT version FROM ${this.db}.rt_schema_migrations`,
      format: 'JSONEachRow',
    })
    const done = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)))
    for (const [i, m] of migrations.entries()) {
      if (done.has(i + 1)) continue
      await this.client.command({ query: m(this.db) })
      await this.client.insert({
        table: `${this.db}.rt_schema_migrations`,
        values: [[i + 1]],
        format: 'JSONCompactEachRow',
      })
    }
  }

  async loadSnapshots(refs: readonly ActorRef[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>()
    if (refs.length === 0) return out
    const wanted = new Set(refs.map((r) => refId(r.type, r.key)))
    const rs = await this.client.query({
      query: `SELECT type, key, argMax(data, version) AS data, argMax(deleted, version) AS deleted
        FROM ${this.db}.rt_snapshots
        WHERE type IN {types:Array(String)} AND key IN {keys:Array(String)}
        GROUP BY type, key`,
      query_params: {
        types: [...new Set(refs.map((r) => r.type))],
        keys: [...new Set(refs.map((r) => r.key))],
      },
      format: 'JSONEachRow',
    })
    for (const row of await rs.json<{ type: string; key: string; data: string; deleted: number }>()) {
      const id = refId(row.type, row.key)
      // The IN filters are per column; only the pairs asked for count.
      if (Number(row.deleted) === 0 && wanted.has(id)) out.set(id, Buffer.from(row.data, 'base64'))
    }
    return out
  }

  async *snapshotRefs(shards: readonly ShardId[]): AsyncIterable<ActorRef> {
    if (shards.length === 0) return
    const rs = await this.client.query({
      query: `SELECT type, key FROM ${this.db}.rt_snapshots WHERE shard IN {shards:Array(UInt16)}
        GROUP BY type, key HAVING argMax(deleted, version) = 0`,
      query_params: { shards: [...shards] },
      format: 'JSONCompactEachRow',
    })
    for await (const rows of rs.stream<[string, string]>()) {
      for (const row of rows) {
        const [type, key] = row.json()
        yield { type, key }
      }
    }
  }

  async loadReminders(shards: readonly ShardId[]): Promise<ReminderRecord[]> {
    if (shards.length === 0) return []
    const rs = await this.client.query({
      query: `SELECT type, key, name, shard, toUnixTimestamp64Milli(argMax(at, version)) AS at,
          argMax(message, version) AS message, argMax(deleted, version) AS deleted
        FROM ${this.db}.rt_reminders WHERE shard IN {shards:Array(UInt16)}
        GROUP BY shard, type, key, name HAVING deleted = 0`,
      query_params: { shards: [...shards] },
      format: 'JSONEachRow',
    })
    return (
      await rs.json<{
        type: string
        key: string
        name: string
        shard: number
        at: string | number
        message: string
      }>()
    ).map((r) => ({
      type: r.type,
      key: r.key,
      name: r.name,
      shard: Number(r.shard),
      at: Number(r.at),
      message: Buffer.from(r.message, 'base64'),
    }))
  }

  async save(changes: RuntimeChanges, as?: SaveToken): Promise<void> {
    // Rows of one save share a version: a later save wins over an earlier one, whichever lands first.
    const version = as?.version ?? this.nextVersion()
    const into = (table: string, columns: readonly string[], part: string): string =>
      as === undefined
        ? `${this.db}.${table} (${columns.join(', ')})`
        : insertOnce(`${this.db}.${table}`, columns, `${as.token}:${part}`)
    if (changes.snapshots.length > 0) {
      await this.client.insert({
        table: into('rt_snapshots', SNAPSHOT_COLUMNS, 'snapshots'),
        values: changes.snapshots.map((s) => [
          s.type,
          s.key,
          s.shard,
          version,
          s.data === null ? '' : base64(s.data),
          s.data === null ? 1 : 0,
        ]),
        format: 'JSONCompactEachRow',
      })
    }
    if (changes.reminders.length > 0) {
      await this.client.insert({
        table: into('rt_reminders', REMINDER_COLUMNS, 'reminders'),
        values: changes.reminders.map((r) => [
          r.type,
          r.key,
          r.name,
          r.shard,
          version,
          r.at ?? 0,
          base64(r.message),
          r.at === null ? 1 : 0,
        ]),
        format: 'JSONCompactEachRow',
      })
    }
    if (changes.deadLetters.length > 0) {
      await this.client.insert({
        table: into('rt_dead_letters', LETTER_COLUMNS, 'letters'),
        values: changes.deadLetters.map((d) => [
          d.at,
          d.shard,
          d.seq,
          d.type,
          d.key,
          d.reason.slice(0, 2000),
        ]),
        format: 'JSONCompactEachRow',
      })
    }
  }

  async commit(record: FlushRecord): Promise<void> {
    // One row, one part: the insert is atomic.
    await this.client.insert({
      table: insertOnce(
        `${this.db}.rt_journal`,
        ['id', 'version', 'at', 'positions', 'payload'],
        `${record.id}:journal`,
      ),
      values: [
        [
          record.id,
          record.version,
          record.at,
          record.positions.map(([shard, upTo]) => [shard, upTo]),
          base64(record.payload),
        ],
      ],
      format: 'JSONCompactEachRow',
    })
  }

  async pending(): Promise<FlushRecord[]> {
    const applied = await this.positions()
    const rs = await this.client.query({
      query: `SELECT id, version, toUnixTimestamp64Milli(at) AS at, positions FROM ${this.db}.rt_journal
        ORDER BY version`,
      format: 'JSONCompactEachRow',
    })
    const heads = (
      await rs.json<[string, string | number, string | number, Array<[number, string | number]>]>()
    )
      .map(([id, version, at, positions]) => ({
        id,
        version: Number(version),
        at: Number(at),
        positions: positions.map(([shard, upTo]) => [Number(shard), Number(upTo)] as const),
      }))
      .filter((r) => isPending(r, applied))
    if (heads.length === 0) return []
    const payloads = await this.client.query({
      query: `SELECT id, any(payload) FROM ${this.db}.rt_journal WHERE id IN {ids:Array(String)} GROUP BY id`,
      query_params: { ids: heads.map((h) => h.id) },
      format: 'JSONCompactEachRow',
    })
    const byId = new Map(await payloads.json<[string, string]>())
    return heads.map((h) => ({ ...h, payload: Buffer.from(byId.get(h.id) ?? '', 'base64') }))
  }

  async applied(record: FlushRecord): Promise<void> {
    if (record.positions.length === 0) return
    // Positions only rise (ReplacingMergeTree on seq, read with max): a repeated insert changes nothing.
    await this.client.insert({
      table: `${this.db}.rt_positions`,
      values: record.positions.map(([shard, upTo]) => [shard, upTo, record.at]),
      format: 'JSONCompactEachRow',
    })
  }

  async positions(): Promise<Map<ShardId, StreamSeq>> {
    const rs = await this.client.query({
      query: `SELECT shard, max(seq) FROM ${this.db}.rt_positions GROUP BY shard`,
      format: 'JSONCompactEachRow',
    })
    const rows = await rs.json<[number, string | number]>()
    return new Map(rows.map(([shard, seq]) => [shardId(Number(shard)), streamSeq(Number(seq))]))
  }

  async forgetApplied(): Promise<number> {
    const pendingIds = new Set((await this.pending()).map((r) => r.id))
    const rs = await this.client.query({
      query: `SELECT id FROM ${this.db}.rt_journal`,
      format: 'JSONCompactEachRow',
    })
    const applied = (await rs.json<[string]>()).map(([id]) => id).filter((id) => !pendingIds.has(id))
    if (applied.length === 0) return 0
    await this.client.command({
      query: `ALTER TABLE ${this.db}.rt_journal DELETE WHERE id IN {ids:Array(String)} SETTINGS mutations_sync = 1`,
      query_params: { ids: applied },
    })
    return applied.length
  }

  async prune(before: number): Promise<void> {
    const pendingIds = new Set((await this.pending()).map((r) => r.id))
    const rs = await this.client.query({
      query: `SELECT _partition_id, toUnixTimestamp64Milli(max(at)), groupArray(id) FROM ${this.db}.rt_journal
        GROUP BY _partition_id`,
      format: 'JSONCompactEachRow',
    })
    for (const [partition, last, ids] of await rs.json<[string, string | number, string[]]>()) {
      if (Number(last) >= before || ids.some((id) => pendingIds.has(id))) continue
      if (!/^\w+$/.test(partition)) throw new Error(`unexpected journal partition id ${partition}`)
      await this.client.command({
        query: `ALTER TABLE ${this.db}.rt_journal DROP PARTITION ID '${partition}'`,
      })
    }
  }

  async deadLetters(limit: number): Promise<DeadLetterRecord[]> {
    const rs = await this.client.query({
      query: `SELECT toUnixTimestamp64Milli(at) AS at, shard, seq, type, key, reason FROM ${this.db}.rt_dead_letters
        ORDER BY at DESC LIMIT {limit:UInt32}`,
      query_params: { limit },
      format: 'JSONEachRow',
    })
    return (await rs.json<Record<string, string | number>>()).map((r) => ({
      at: Number(r.at),
      shard: Number(r.shard),
      seq: Number(r.seq),
      type: String(r.type),
      key: String(r.key),
      reason: String(r.reason),
    }))
  }
}
