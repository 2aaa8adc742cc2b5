import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { type ClickHouseClient, createClient } from '@clickhouse/client'
import { insertOnce, onceSettings } from '@hm/runtime'
import { type ChdbConnection, createChdbConnection } from 'chdb/connection'

export interface ClickHouseOptions {
  /** A ClickHouse server (`http://host:8123`); without it, ClickHouse runs in-process on chDB. */
  url?: string | undefined
  username?: string | undefined
  password?: string | undefined
  /** Where chDB keeps its data when no server is given. */
  dataDir: string
}

/**
 * The one ClickHouse client of a process: the same `@clickhouse/client` API on a server or on chDB.
 * chDB binds one data directory per process, so open this once, in the main thread.
 */
export function openClickHouse(options: ClickHouseOptions): ClickHouseClient {
  if (options.url !== undefined) {
    return createClient({ url: options.url, username: options.username, password: options.password })
  }
  const path = join(options.dataDir, 'clickhouse')
  mkdirSync(path, { recursive: true })
  const chdb = createChdbConnection({ path })
  // chdb types its connection against @clickhouse/client-common, which the client now bundles: the same
  // shape under two declarations, hence the cast.
  const client = createClient({
    connection: chdb as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'],
  })
  chdbConnections.set(client, chdb)
  return client
}

const chdbConnections = new WeakMap<ClickHouseClient, ChdbConnection>()

/** An insert whose body is already in its format, in parts, stored once per `token`. */
export interface BodyInsert {
  /** `db.table` */
  table: string
  columns: readonly string[]
  token: string
  format: 'JSONCompactEachRow'
  parts: readonly Uint8Array[]
}

/**
 * Sends an insert body as the bytes it is. The client's own insert on chDB turns a body into a JS string
 * and then into the statement's text, two copies of megabytes on the main thread every flush; chDB's raw
 * insert takes the bytes without a copy and parses them on its own threads. A server gets them streamed.
 */
export async function insertBody(client: ClickHouseClient, insert: BodyInsert): Promise<void> {
  const chdb = chdbConnections.get(client)
  if (chdb !== undefined) {
    await chdb.chdb.rawInsert({
      table: insert.table,
      columns: [...insert.columns],
      settings: onceSettings(insert.token),
      format: insert.format,
      values: insert.parts.length === 1 ? insert.parts[0]! : Buffer.concat(insert.parts),
    })
    return
  }
  const { stream } = await client.exec({
    query: `INSERT INTO ${insertOnce(insert.table, insert.columns, insert.token)} FORMAT ${insert.format}`,
    values: Readable.from(insert.parts),
  })
  stream.destroy()
}
