import { createHash, randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { Cache } from '../stores/cache.ts'

const hash = (token: string): string => createHash('sha256').update(token).digest('hex')

/** Creates an API key for an organisation; the plain key is returned once and only its hash is kept. */
export async function createApiKey(pool: pg.Pool, orgId: string, name: string): Promise<string> {
  const prefix = randomBytes(4).toString('hex')
  const token = `hm_${prefix}_${randomBytes(24).toString('base64url')}`
  await pool.query('INSERT INTO api_keys (org_id, name, prefix, key_hash) VALUES ($1, $2, $3, $4)', [
    orgId,
    name,
    prefix,
    hash(token),
  ])
  return token
}

/** The organisation of a valid, unrevoked API key. */
export async function orgOfApiKey(pool: pg.Pool, cache: Cache, token: string): Promise<string | undefined> {
  if (!/^hm_[0-9a-f]{8}_[A-Za-z0-9_-]{32}$/.test(token)) return undefined
  const h = hash(token)
  const cached = await cache.get(`api-key:${h}`)
  if (cached !== undefined) return cached === '-' ? undefined : cached
  const { rows } = await pool.query<{ org_id: string }>(
    'SELECT org_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [h],
  )
  const orgId = rows[0]?.org_id
  await cache.set(`api-key:${h}`, orgId ?? '-', 10_000)
  return orgId
}
