import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { privacySuite } from './privacy-suite.ts'

const admin = 'postgres://postgres@127.0.0.1:5432/postgres'

privacySuite('privacy on real PostgreSQL and Redis', async () => {
  const database = `hm_priv_${process.pid}_${randomBytes(3).toString('hex')}`
  const c = new pg.Client(admin)
  await c.connect()
  await c.query(`CREATE DATABASE ${database}`)
  await c.end()
  return {
    env: {
      HM_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
      HM_REDIS_URL: 'redis://127.0.0.1:6379',
    },
    cleanup: async () => {
      const d = new pg.Client(admin)
      await d.connect()
      await d.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
      await d.end()
    },
  }
})
