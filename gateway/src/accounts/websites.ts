import type pg from 'pg'
import type { Cache } from '../stores/cache.ts'

export interface SiteForIngest {
  id: string
  orgId: string
  allowedOrigins: string[]
}

const TTL_MS = 30_000
const MISS = '-'

/** The website a site key belongs to, cached (misses too, so a flood of bad keys does not reach Postgres). */
export async function siteByKey(
  pool: pg.Pool,
  cache: Cache,
  siteKey: string,
): Promise<SiteForIngest | undefined> {
  const cached = await cache.get(`site-key:${siteKey}`)
  if (cached !== undefined) return cached === MISS ? undefined : (JSON.parse(cached) as SiteForIngest)
  const { rows } = await pool.query<{ id: string; org_id: string; allowed_origins: string[] }>(
    'SELECT id, org_id, allowed_origins FROM websites WHERE site_key = $1',
    [siteKey],
  )
  const row = rows[0]
  const site = row && { id: row.id, orgId: row.org_id, allowedOrigins: row.allowed_origins }
  await cache.set(`site-key:${siteKey}`, site ? JSON.stringify(site) : MISS, site ? TTL_MS : TTL_MS / 3)
  return site
}

/** The website `siteId` if it belongs to `orgId`; undefined for any other organisation's id. */
export async function orgSite(
  pool: pg.Pool,
  orgId: string,
  siteId: string,
): Promise<{ id: string } | undefined> {
  if (!/^[0-9a-f-]{36}$/i.test(siteId)) return undefined
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM websites WHERE id = $1 AND org_id = $2', [
    siteId,
    orgId,
  ])
  return rows[0]
}
