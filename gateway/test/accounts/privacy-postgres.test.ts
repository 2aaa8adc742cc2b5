import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openClickHouse } from '@hm/actors'
import pg from 'pg'
import { serveChdbHttp } from '../../src/cluster-clickhouse-server.ts'
import { privacySuite } from './privacy-suite.ts'

const admin = 'postgres://postgres@127.0.0.1:5432/postgres'

// ClickHouse over its HTTP interface (chDB served from this process), so the test reads every table the
// platform writes through a client of its own.
privacySuite('privacy on real PostgreSQL and Redis, ClickHouse over HTTP', async () => {
  const database = `hm_priv_${process.pid}_${randomBytes(3).toString('hex')}`
  const c = new pg.Client(admin)
  await c.connect()
  await c.query(`CREATE DATABASE ${database}`)
  await c.end()
  const dir = await mkdtemp(join(tmpdir(), 'hm-priv-ch-'))
  const server = await serveChdbHttp({ dataDir: dir, port: 0 })
  const clickhouse = openClickHouse({ url: server.url, dataDir: dir })
  return {
    env: {
      HM_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
      HM_REDIS_URL: 'redis://127.0.0.1:6379',
      HM_CLICKHOUSE_URL: server.url,
    },
    clickhouse,
    cleanup: async () => {
      await clickhouse.close()
      await server.close()
      await rm(dir, { recursive: true, force: true })
      const d = new pg.Client(admin)
      await d.connect()
      await d.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      await d.end()
    },
  }
})
