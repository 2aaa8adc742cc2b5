import type { ClickHouseClient } from '@clickhouse/client'
import type { ShardId } from './ids.ts'
import {
  type ActorRef,
  type DeadLetterRecord,
  type ReminderRecord,
  type RuntimeChanges,
  type RuntimeStore,
  refId,
} from './store.ts'

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
]

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

  async save(changes: RuntimeChanges): Promise<void> {
    if (changes.snapshots.length > 0) {
      await this.client.insert({
        table: `${this.db}.rt_snapshots`,
        values: changes.snapshots.map((s) => [
          s.type,
          s.key,
          s.shard,
          this.nextVersion(),
          s.data === null ? '' : Buffer.from(s.data).toString('base64'),
          s.data === null ? 1 : 0,
        ]),
        format: 'JSONCompactEachRow',
      })
    }
    if (changes.reminders.length > 0) {
      await this.client.insert({
        table: `${this.db}.rt_reminders`,
        values: changes.reminders.map((r) => [
          r.type,
          r.key,
          r.name,
          r.shard,
          this.nextVersion(),
          r.at ?? 0,
          Buffer.from(r.message).toString('base64'),
          r.at === null ? 1 : 0,
        ]),
        format: 'JSONCompactEachRow',
      })
    }
    if (changes.deadLetters.length > 0) {
      await this.client.insert({
        table: `${this.db}.rt_dead_letters`,
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
