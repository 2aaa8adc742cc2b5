import type pg from 'pg'
import type { FieldCipher } from '../auth/field-cipher.ts'
import { anonymiseIp } from '../ingest/ip.ts'
import type { Cache } from '../stores/cache.ts'

/** A grant is kept in the cache this long; a recorded decision replaces the entry at once anyway. */
const GRANTED_TTL_MS = 5 * 60_000
/**
 * "No consent" is kept shorter: a lookup that read PostgreSQL just before a grant was recorded may write
 * its stale answer after the grant's, and would drop that visitor's events until the entry expires.
 */
const NOT_GRANTED_TTL_MS = 30_000

/** The cache entry of a visitor's consent decision on a site (`1` granted, `0` not). */
export const consentKey = (siteId: string, visitorId: string): string => `consent:${siteId}:${visitorId}`

export async function rememberConsent(
  cache: Cache,
  siteId: string,
  visitorId: string,
  granted: boolean,
): Promise<void> {
  await cache.set(
    consentKey(siteId, visitorId),
    granted ? '1' : '0',
    granted ? GRANTED_TTL_MS : NOT_GRANTED_TTL_MS,
  )
}

/**
 * Whether the visitor's latest decision on the site is a grant (no record: not granted). Both answers
 * are cached, so ingestion asks PostgreSQL at most once per visitor per TTL, not once per batch.
 */
export async function consentGranted(
  pool: pg.Pool,
  cache: Cache,
  siteId: string,
  visitorId: string,
): Promise<boolean> {
  const cached = await cache.get(consentKey(siteId, visitorId))
  if (cached !== undefined) return cached === '1'
  const { rows } = await pool.query<{ granted: boolean }>(
    'SELECT granted FROM consent_records WHERE site_id = $1 AND visitor_id = $2 ORDER BY id DESC LIMIT 1',
    [siteId, visitorId],
  )
  const granted = rows[0]?.granted === true
  await rememberConsent(cache, siteId, visitorId, granted)
  return granted
}

/**
 * Records a visitor's consent decision; the address is anonymised (or dropped) and both PII fields
 * encrypted. Ingestion sees the decision at once: the cache entry is replaced after the record is stored.
 */
export async function recordConsent(
  pool: pg.Pool,
  cache: Cache,
  cipher: FieldCipher,
  c: {
    siteId: string
    visitorId: string
    granted: boolean
    source: 'sdk' | 'api'
    ip: string | undefined
    userAgent: string | undefined
    ipHandling: 'anonymize' | 'discard'
  },
): Promise<void> {
  const ip = c.ipHandling === 'discard' || c.ip === undefined ? null : anonymiseIp(c.ip)
  await pool.query(
    `INSERT INTO consent_records (site_id, visitor_id, granted, source, ip_enc, user_agent_enc)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      c.siteId,
      c.visitorId,
      c.granted,
      c.source,
      cipher.encryptOpt('consent_records.ip', ip),
      cipher.encryptOpt('consent_records.user_agent', c.userAgent?.slice(0, 512)),
    ],
  )
  await rememberConsent(cache, c.siteId, c.visitorId, c.granted)
}

/** One consent decision as the consent log shows it. */
export interface ConsentRecord {
  id: number
  visitorId: string
  granted: boolean
  source: 'sdk' | 'api'
  at: string
  /** The anonymised address and the user agent; null when not stored, or withheld from the caller. */
  ip: string | null
  userAgent: string | null
}

/**
 * A site's consent decisions, newest first, `limit` of them older than record `before` (keyset paging),
 * of one visitor or all. The address and user agent are decrypted only with `personalData`; without it
 * they stay encrypted and are answered as null.
 */
export async function listConsent(
  pool: pg.Pool,
  cipher: FieldCipher,
  q: { siteId: string; visitorId?: string; before?: number; limit: number; personalData: boolean },
): Promise<ConsentRecord[]> {
  const { rows } = await pool.query(
    `SELECT id, visitor_id, granted, source, ip_enc, user_agent_enc, created_at FROM consent_records
     WHERE site_id = $1 AND ($2::text IS NULL OR visitor_id = $2) AND ($3::bigint IS NULL OR id < $3)
     ORDER BY id DESC LIMIT $4`,
    [q.siteId, q.visitorId ?? null, q.before ?? null, q.limit],
  )
  return rows.map((r) => ({
    id: Number(r.id),
    visitorId: r.visitor_id,
    granted: r.granted,
    source: r.source,
    at: r.created_at.toISOString(),
    ip: q.personalData ? (cipher.decryptOpt('consent_records.ip', r.ip_enc) ?? null) : null,
    userAgent: q.personalData
      ? (cipher.decryptOpt('consent_records.user_agent', r.user_agent_enc) ?? null)
      : null,
  }))
}
