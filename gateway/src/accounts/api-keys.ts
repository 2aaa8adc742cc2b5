import { createHash, randomBytes } from 'node:crypto'
import type pg from 'pg'
import { defaultApiKeyScopes, isPermission, type Permission } from '../auth/permissions.ts'
import type { Cache } from '../stores/cache.ts'

const hash = (token: string): string => createHash('sha256').update(token).digest('hex')
const FORMAT = /^hm_[0-9a-f]{8}_[A-Za-z0-9_-]{32}$/
const TTL_MS = 10_000

export interface ApiKeyRow {
  id: string
  name: string
  prefix: string
  scopes: Permission[]
  createdAt: string
  createdBy: string | null
  lastUsedAt: string | null
  revokedAt: string | null
}

/** Creates an API key for an organisation; the plain key is returned once and only its hash is kept. */
export async function createApiKey(
  pool: pg.Pool,
  orgId: string,
  name: string,
  scopes: readonly Permission[] = defaultApiKeyScopes,
  createdBy: string | null = null,
): Promise<string> {
  return (await createScopedApiKey(pool, { orgId, name, scopes, createdBy })).token
}

export async function createScopedApiKey(
  pool: pg.Pool,
  k: { orgId: string; name: string; scopes: readonly Permission[]; createdBy: string | null },
): Promise<{ id: string; token: string }> {
  const prefix = randomBytes(4).toString('hex')
  const token = `hm_${prefix}_${randomBytes(24).toString('base64url')}`
  const { rows } = await pool.query<{ id: string }>(
    'INSERT INTO api_keys (org_id, name, prefix, key_hash, scopes, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
    [k.orgId, k.name, prefix, hash(token), [...k.scopes], k.createdBy],
  )
  return { id: rows[0]!.id, token }
}

export interface ApiKeyIdentity {
  id: string
  orgId: string
  scopes: Permission[]
}

/** A valid, unrevoked API key's id, organisation and scopes; cached briefly (misses too). */
export async function identifyApiKey(
  pool: pg.Pool,
  cache: Cache,
  token: string,
): Promise<ApiKeyIdentity | undefined> {
  if (!FORMAT.test(token)) return undefined
  const h = hash(token)
  const cached = await cache.get(`api-key-id:${h}`)
  if (cached !== undefined) return cached === '-' ? undefined : (JSON.parse(cached) as ApiKeyIdentity)
  const { rows } = await pool.query<{ id: string; org_id: string; scopes: string[] }>(
    `UPDATE api_keys SET last_used_at = now() WHERE key_hash = $1 AND revoked_at IS NULL
     RETURNING id, org_id, scopes`,
    [h],
  )
  const row = rows[0]
  const key = row && { id: row.id, orgId: row.org_id, scopes: row.scopes.filter(isPermission) }
  await cache.set(`api-key-id:${h}`, key ? JSON.stringify(key) : '-', TTL_MS)
  return key
}

export async function listApiKeys(pool: pg.Pool, orgId: string): Promise<ApiKeyRow[]> {
  const { rows } = await pool.query(
    `SELECT id, name, prefix, scopes, created_at, created_by, last_used_at, revoked_at
     FROM api_keys WHERE org_id = $1 ORDER BY created_at`,
    [orgId],
  )
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: (r.scopes as string[]).filter(isPermission),
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
  }))
}

/** Revokes a key of this organisation (false when it has no such live key); the cache forgets it at once. */
export async function revokeApiKey(pool: pg.Pool, cache: Cache, orgId: string, id: string): Promise<boolean> {
  const { rows } = await pool.query<{ key_hash: string }>(
    'UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL RETURNING key_hash',
    [id, orgId],
  )
  for (const r of rows) {
    await cache.del(`api-key-id:${r.key_hash}`)
    await cache.del(`api-key:${r.key_hash}`)
  }
  return rows.length === 1
}
