import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe } from 'node:test'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import {
  type AccountsContext,
  type AccountsSettings,
  createAccountsContext,
} from '../../src/accounts/context.ts'
import { OutboxMailer } from '../../src/accounts/mailer.ts'
import type { VisitorStore } from '../../src/accounts/visitor-stores.ts'
import { buildManagementApp } from '../../src/app.ts'
import { ephemeralAuthKeys } from '../../src/auth/keys.ts'
import query from '../../src/plugins/query/index.ts'
import { type Cache, MemoryCache, RedisCache } from '../../src/stores/cache.ts'
import { migratePostgres } from '../../src/stores/pg-migrations.ts'
import { openPostgres } from '../../src/stores/postgres.ts'
import type { Analytics } from './analytics.ts'

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres'

/** One app database: a real PostgreSQL database made for this run (dropped after), or PGlite in a temp dir. */
export interface Db {
  pool: pg.Pool
  close(): Promise<void>
}

export const databases: Array<{ name: string; open(): Promise<Db>; cache(): Cache }> = [
  {
    name: 'PGlite',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'hm-acc-'))
      const p = await openPostgres({ dataDir: dir })
      await migratePostgres(p.pool)
      return {
        pool: p.pool,
        close: async () => {
          await p.close()
          await rm(dir, { recursive: true, force: true })
        },
      }
    },
    cache: () => new MemoryCache(),
  },
  {
    name: 'PostgreSQL',
    async open() {
      const name = `hm_acc_${process.pid}_${randomBytes(4).toString('hex')}`
      const admin = new pg.Client(ADMIN_URL)
      await admin.connect()
      await admin.query(`CREATE DATABASE ${name}`)
      await admin.end()
      const p = await openPostgres({ url: `postgres://postgres@127.0.0.1:5432/${name}`, dataDir: tmpdir() })
      await migratePostgres(p.pool)
      return {
        pool: p.pool,
        close: async () => {
          await p.close()
          const c = new pg.Client(ADMIN_URL)
          await c.connect()
          await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
          await c.end()
        },
      }
    },
    cache: () =>
      new RedisCache('redis://127.0.0.1:6379', `hm-acc-${process.pid}-${randomBytes(3).toString('hex')}:`),
  },
]

export interface Harness {
  app: FastifyInstance
  pool: pg.Pool
  ctx: AccountsContext
  outbox: OutboxMailer
  /** With the query API: writes what its routes need to answer on a site (see `analytics.ts`). */
  seedSite?: (siteId: string) => Promise<void>
  /** One request through the whole app (hooks, schemas, error handler), without a socket. */
  call(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT',
    url: string,
    o?: { token?: string; body?: unknown; ip?: string },
    // biome-ignore lint/suspicious/noExplicitAny: answers of every route's shape, read by the tests
  ): Promise<{ status: number; body: any; headers: Record<string, unknown> }>
}

/**
 * Runs the same suite on PGlite (with the in-memory cache) and on real PostgreSQL (with real Redis).
 * `fn` gets a getter for the harness built before the suite's tests.
 */
export function onEachDatabase(
  title: string,
  fn: (h: () => Harness) => void,
  o: {
    settings?: Partial<AccountsSettings>
    stores?: (pool: pg.Pool, ctx: AccountsContext) => VisitorStore[]
    /** Registers the query API too, reading this ClickHouse (it answers what ClickHouse holds). */
    analytics?: () => Promise<Analytics>
  } = {},
): void {
  for (const d of databases) {
    describe(`${title} (${d.name})`, () => {
      let h: Harness | undefined
      let db: Db
      let cache: Cache
      before(async () => {
        db = await d.open()
        cache = d.cache()
        const outbox = new OutboxMailer()
        const keys = ephemeralAuthKeys()
        const ctx = createAccountsContext({
          pool: db.pool,
          cache,
          keys,
          mailer: outbox,
          settings: o.settings,
        })
        if (o.stores) ctx.visitorStores.push(...o.stores(db.pool, ctx))
        const app = await buildManagementApp({ accounts: ctx })
        const analytics = await o.analytics?.()
        // After the auth plugin, as in the whole gateway: every query route's permission is checked by it.
        if (analytics !== undefined) await app.register(query, { queries: analytics.queries, pool: db.pool })
        await app.ready()
        h = {
          app,
          pool: db.pool,
          ctx,
          outbox,
          ...(analytics !== undefined && { seedSite: analytics.seed }),
          async call(method, url, c = {}) {
            const r = await app.inject({
              method,
              url,
              // Each call from its own address unless told, so the per-address sign-in limit is tested on purpose only.
              remoteAddress:
                c.ip ?? `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0]! % 250)}`,
              headers: c.token ? { authorization: `Bearer ${c.token}` } : {},
              ...(c.body !== undefined ? { payload: c.body as object } : {}),
            })
            return { status: r.statusCode, body: r.body === '' ? undefined : r.json(), headers: r.headers }
          },
        }
      })
      after(async () => {
        await h?.app.close()
        await cache?.close()
        await db?.close()
      })
      fn(() => h!)
    })
  }
}

let n = 0
/** A fresh email for this run. */
export const email = (who = 'user'): string =>
  `${who}.${process.pid}.${++n}.${randomBytes(3).toString('hex')}@example.com`
export const PASSWORD = 'correct horse battery'

/** Signs up a new owner with a new organisation; returns its tokens and ids. */
export async function signUp(
  h: Harness,
  who = 'owner',
): Promise<{ email: string; token: string; refresh: string; orgId: string; userId: string }> {
  const e = email(who)
  const r = await h.call('POST', '/v1/auth/signup', {
    body: { email: e, name: who, password: PASSWORD, organization: `${who} org` },
  })
  if (r.status !== 201) throw new Error(`signup: ${r.status} ${JSON.stringify(r.body)}`)
  const me = await h.call('GET', '/v1/me', { token: r.body.accessToken })
  return {
    email: e,
    token: r.body.accessToken,
    refresh: r.body.refreshToken,
    orgId: r.body.org,
    userId: me.body.id,
  }
}
