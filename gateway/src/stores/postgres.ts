import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import pg from 'pg'

export interface Postgres {
  pool: pg.Pool
  /** "embedded PGlite" or the server's host. */
  describe: string
  close(): Promise<void>
}

/**
 * The app database through `pg`: a PostgreSQL server when `url` is given, otherwise PGlite (real
 * PostgreSQL compiled to WASM) keeping its files under `dataDir`, served on a private Unix socket so the
 * code above talks to it exactly as to a server.
 */
export async function openPostgres(options: {
  url?: string | undefined
  dataDir: string
}): Promise<Postgres> {
  if (options.url !== undefined) {
    const pool = new pg.Pool({ connectionString: options.url, max: 10 })
    // An idle connection the server ends (a restart, an administrator) is dropped by the pool; without a
    // listener its error would end the process.
    pool.on('error', (e) => console.error('[postgres] idle connection lost:', e.message))
    await pool.query('SELECT 1')
    return { pool, describe: new URL(options.url).host, close: () => pool.end() }
  }
  const db = await PGlite.create(join(options.dataDir, 'postgres'))
  // Unix socket paths are limited to ~100 bytes, so the socket lives in a short private temp dir.
  const socketDir = await mkdtemp(join(tmpdir(), 'hm-pg-'))
  const server = new PGLiteSocketServer({ db, path: join(socketDir, '.s.PGSQL.5432'), maxConnections: 16 })
  await server.start()
  // One connection: PGlite is one session, and the socket server interleaves the extended-protocol messages
  // of several connections outside transactions (one's Bind meets another's Parse: "bind message supplies
  // 9 parameters…", "portal cannot be run"), which failed audit writes under concurrent requests. PGlite
  // runs one query at a time anyway; transactions hold the connection and never query the pool meanwhile.
  const pool = new pg.Pool({ host: socketDir, port: 5432, user: 'postgres', database: 'postgres', max: 1 })
  return {
    pool,
    describe: 'embedded PGlite',
    close: async () => {
      await pool.end()
      await server.stop()
      await db.close()
      await rm(socketDir, { recursive: true, force: true })
    },
  }
}
