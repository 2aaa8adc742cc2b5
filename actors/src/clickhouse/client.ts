import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { type ClickHouseClient, createClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'

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
  // chdb types its connection against @clickhouse/client-common, which the client now bundles: the same
  // shape under two declarations, hence the cast.
  const connection = createChdbConnection({ path }) as unknown as NonNullable<
    Parameters<typeof createClient>[0]
  >['connection']
  return createClient({ connection })
}
