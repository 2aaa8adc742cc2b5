import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import pg from 'pg'
import { migratePostgres } from '../../src/stores/pg-migrations.ts'
import { openPostgres, type Postgres } from '../../src/stores/postgres.ts'

const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres'

/** An empty app database on each backend, closed (and dropped) after `fn`. */
const backends: Array<[string, (fn: (p: Postgres) => Promise<void>) => Promise<void>]> = [
  [
    'PGlite',
    async (fn) => {
      const dir = await mkdtemp(join(tmpdir(), 'hm-mig-'))
      const p = await openPostgres({ dataDir: dir })
      try {
        await fn(p)
      } finally {
        await p.close()
        await rm(dir, { recursive: true, force: true })
      }
    },
  ],
  [
    'PostgreSQL',
    async (fn) => {
      const name = `hm_mig_${process.pid}_${randomBytes(3).toString('hex')}`
      const admin = new pg.Client(ADMIN)
      await admin.connect()
      await admin.query(`CREATE DATABASE ${name}`)
      const p = await openPostgres({ url: `postgres://postgres@127.0.0.1:5432/${name}`, dataDir: tmpdir() })
      try {
        await fn(p)
      } finally {
        await p.close()
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        await admin.end()
      }
    },
  ],
]

for (const [name, withDb] of backends) {
  describe(`PostgreSQL migrations (${name})`, () => {
    test('a v1 database with data upgrades in place; a second run applies nothing', async () => {
      await withDb(async ({ pool }) => {
        assert.deepEqual(await migratePostgres(pool, { upTo: 1 }), [1])
        const org = await pool.query<{ id: string }>(
          "INSERT INTO organizations (name) VALUES ('old') RETURNING id",
        )
        await pool.query(
          "INSERT INTO api_keys (org_id, name, prefix, key_hash) VALUES ($1, 'old key', 'abcd1234', 'h')",
          [org.rows[0]!.id],
        )
        await pool.query(
          "INSERT INTO websites (org_id, name, domain, site_key) VALUES ($1, 'old site', 'old.example', 'k')",
          [org.rows[0]!.id],
        )
        assert.deepEqual(await migratePostgres(pool), [2, 3, 4, 5])
        assert.deepEqual(await migratePostgres(pool), [])
        const key = await pool.query('SELECT scopes FROM api_keys')
        assert.deepEqual(key.rows[0].scopes, ['heatmaps:read', 'sessions:read', 'heatmaps:export'])
        const site = await pool.query(
          'SELECT consent_required, masking, ip_handling, retention_days, url_rules FROM websites',
        )
        assert.deepEqual(site.rows[0], {
          consent_required: false,
          masking: 'standard',
          ip_handling: 'anonymize',
          retention_days: 395,
          url_rules: {},
        })
        const versions = await pool.query('SELECT version FROM schema_migrations ORDER BY version')
        assert.deepEqual(
          versions.rows.map((r) => r.version),
          [1, 2, 3, 4, 5],
        )
      })
    })

    test('gateways starting together apply each migration once (advisory lock)', async () => {
      await withDb(async ({ pool }) => {
        const runs = await Promise.all([migratePostgres(pool), migratePostgres(pool), migratePostgres(pool)])
        assert.deepEqual(runs.flat().sort(), [1, 2, 3, 4, 5])
      })
    })
  })
}
