import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { Cache } from '../stores/cache.ts'

/** How page URLs of a site are normalised beyond the defaults. */
export interface UrlRules {
  /** Treat `#/route` fragments as pages (single-page apps); the default. */
  fragmentRoutes?: boolean
}

/** What ingestion needs of a website, cached per site key. */
export interface SiteForIngest {
  id: string
  orgId: string
  allowedOrigins: string[]
  consentRequired: boolean
  masking: 'standard' | 'strict'
  retentionDays: number
  urlRules: UrlRules
}

export interface Website {
  id: string
  name: string
  domain: string
  siteKey: string
  allowedOrigins: string[]
  consentRequired: boolean
  masking: 'standard' | 'strict'
  ipHandling: 'anonymize' | 'discard'
  retentionDays: number
  urlRules: UrlRules
  createdAt: string
  updatedAt: string
}

export type WebsiteChange = Partial<
  Pick<
    Website,
    | 'name'
    | 'domain'
    | 'allowedOrigins'
    | 'consentRequired'
    | 'masking'
    | 'ipHandling'
    | 'retentionDays'
    | 'urlRules'
  >
>

const TTL_MS = 30_000
const MISS = '-'
const COLUMNS = `id, name, domain, site_key, allowed_origins, consent_required, masking, ip_handling, retention_days,
  url_rules, created_at, updated_at`

// biome-ignore lint/suspicious/noExplicitAny: a row straight from pg
function toWebsite(r: any): Website {
  return {
    id: r.id,
    name: r.name,
    domain: r.domain,
    siteKey: r.site_key,
    allowedOrigins: r.allowed_origins,
    consentRequired: r.consent_required,
    masking: r.masking,
    ipHandling: r.ip_handling,
    retentionDays: r.retention_days,
    urlRules: r.url_rules,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  }
}

/** The website a site key belongs to, cached (misses too, so a flood of bad keys does not reach Postgres). */
export async function siteByKey(
  pool: pg.Pool,
  cache: Cache,
  siteKey: string,
): Promise<SiteForIngest | undefined> {
  const cached = await cache.get(`site-key:${siteKey}`)
  if (cached !== undefined) return cached === MISS ? undefined : (JSON.parse(cached) as SiteForIngest)
  const { rows } = await pool.query(
    `SELECT id, org_id, allowed_origins, consent_required, masking, retention_days, url_rules
     FROM websites WHERE site_key = $1`,
    [siteKey],
  )
  const r = rows[0]
  // Settings a row lacks (a stand-in pool in the ingest tests returns the v1 columns) take their defaults.
  const site: SiteForIngest | undefined = r && {
    id: r.id,
    orgId: r.org_id,
    allowedOrigins: r.allowed_origins,
    consentRequired: r.consent_required ?? false,
    masking: r.masking ?? 'standard',
    retentionDays: r.retention_days ?? 395,
    urlRules: r.url_rules ?? {},
  }
  await cache.set(`site-key:${siteKey}`, site ? JSON.stringify(site) : MISS, site ? TTL_MS : TTL_MS / 3)
  return site
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The website `siteId` if it belongs to `orgId`; undefined for any other organisation's id. */
export async function orgSite(
  pool: pg.Pool,
  orgId: string,
  siteId: string,
): Promise<{ id: string } | undefined> {
  if (!UUID.test(siteId)) return undefined
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM websites WHERE id = $1 AND org_id = $2', [
    siteId,
    orgId,
  ])
  return rows[0]
}

export async function getWebsite(pool: pg.Pool, orgId: string, siteId: string): Promise<Website | undefined> {
  if (!UUID.test(siteId)) return undefined
  const { rows } = await pool.query(`SELECT ${COLUMNS} FROM websites WHERE id = $1 AND org_id = $2`, [
    siteId,
    orgId,
  ])
  return rows[0] && toWebsite(rows[0])
}

export async function listWebsites(pool: pg.Pool, orgId: string): Promise<Website[]> {
  const { rows } = await pool.query(
    `SELECT ${COLUMNS} FROM websites WHERE org_id = $1 ORDER BY created_at, id`,
    [orgId],
  )
  return rows.map(toWebsite)
}

export async function createWebsite(
  pool: pg.Pool,
  orgId: string,
  w: { name: string; domain: string } & WebsiteChange,
): Promise<Website> {
  const siteKey = `site_${randomBytes(12).toString('base64url')}`
  const { rows } = await pool.query(
    `INSERT INTO websites (org_id, name, domain, site_key, allowed_origins, consent_required, masking, ip_handling,
       retention_days, url_rules)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
    [
      orgId,
      w.name,
      w.domain,
      siteKey,
      w.allowedOrigins ?? [],
      w.consentRequired ?? false,
      w.masking ?? 'standard',
      w.ipHandling ?? 'anonymize',
      w.retentionDays ?? 395,
      JSON.stringify(w.urlRules ?? {}),
    ],
  )
  return toWebsite(rows[0])
}

const changeColumns: Record<keyof WebsiteChange, string> = {
  name: 'name',
  domain: 'domain',
  allowedOrigins: 'allowed_origins',
  consentRequired: 'consent_required',
  masking: 'masking',
  ipHandling: 'ip_handling',
  retentionDays: 'retention_days',
  urlRules: 'url_rules',
}

/** Applies a change to a website of this organisation; ingestion sees it once its cache entry is dropped (now). */
export async function updateWebsite(
  pool: pg.Pool,
  cache: Cache,
  orgId: string,
  siteId: string,
  change: WebsiteChange,
): Promise<Website | undefined> {
  if (!UUID.test(siteId)) return undefined
  const sets: string[] = []
  const params: unknown[] = [siteId, orgId]
  for (const [k, col] of Object.entries(changeColumns)) {
    const v = change[k as keyof WebsiteChange]
    if (v === undefined) continue
    params.push(k === 'urlRules' ? JSON.stringify(v) : v)
    sets.push(`${col} = $${params.length}`)
  }
  const { rows } = await pool.query(
    `UPDATE websites SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 AND org_id = $2 RETURNING ${COLUMNS}`,
    params,
  )
  const w = rows[0] && toWebsite(rows[0])
  if (w !== undefined) await cache.del(`site-key:${w.siteKey}`)
  return w
}

export async function deleteWebsite(
  pool: pg.Pool,
  cache: Cache,
  orgId: string,
  siteId: string,
): Promise<boolean> {
  if (!UUID.test(siteId)) return false
  const { rows } = await pool.query<{ site_key: string }>(
    'DELETE FROM websites WHERE id = $1 AND org_id = $2 RETURNING site_key',
    [siteId, orgId],
  )
  for (const r of rows) await cache.del(`site-key:${r.site_key}`)
  return rows.length === 1
}
