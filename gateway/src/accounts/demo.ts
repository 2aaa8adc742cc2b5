import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type pg from 'pg'
import { hashPassword } from '../auth/passwords.ts'
import { createApiKey } from './api-keys.ts'

export interface DemoCredentials {
  orgId: string
  email: string
  password: string
  siteId: string
  siteKey: string
  apiKey: string
}

const FILE = 'demo-credentials.json'

/**
 * Creates the demo organisation, its owner and the demo website on first start and keeps their
 * credentials in `<dataDir>/demo-credentials.json` (mode 0600) so every start can print them.
 */
export async function ensureDemo(pool: pg.Pool, dataDir: string): Promise<DemoCredentials> {
  const path = join(dataDir, FILE)
  try {
    const saved = JSON.parse(await readFile(path, 'utf8')) as DemoCredentials
    const { rowCount } = await pool.query('SELECT 1 FROM websites WHERE id = $1', [saved.siteId])
    if (rowCount === 1) return saved
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
  const password = randomBytes(9).toString('base64url')
  const email = 'demo@heatmap.local'
  const client = await pool.connect()
  let creds: DemoCredentials
  try {
    await client.query('BEGIN')
    const org = await client.query<{ id: string }>(
      "INSERT INTO organizations (name) VALUES ('Demo organisation') RETURNING id",
    )
    const orgId = org.rows[0]!.id
    const user = await client.query<{ id: string }>(
      `INSERT INTO users (email, name, password_hash) VALUES ($1, 'Demo owner', $2)
       ON CONFLICT (email) DO UPDATE SET password_hash = EXCLUDED.password_hash RETURNING id`,
      [email, await hashPassword(password)],
    )
    await client.query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')", [
      orgId,
      user.rows[0]!.id,
    ])
    const siteKey = `demo_${randomBytes(8).toString('hex')}`
    const site = await client.query<{ id: string }>(
      "INSERT INTO websites (org_id, name, domain, site_key) VALUES ($1, 'Demo site', 'localhost', $2) RETURNING id",
      [orgId, siteKey],
    )
    await client.query('COMMIT')
    creds = { orgId, email, password, siteId: site.rows[0]!.id, siteKey, apiKey: '' }
  } catch (e) {
    await client.query('ROLLBACK')
    throw e
  } finally {
    client.release()
  }
  creds.apiKey = await createApiKey(pool, creds.orgId, 'demo')
  await writeFile(path, JSON.stringify(creds, null, 2), { mode: 0o600 })
  return creds
}
