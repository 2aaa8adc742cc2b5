import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type pg from 'pg'
import { encryptedColumns, FieldCipher } from './field-cipher.ts'

export interface AuthKeys {
  /** HMAC key of access tokens (HS256). */
  tokenSecret: Uint8Array
  cipher: FieldCipher
}

const FILE = 'secrets.json'

/**
 * The token secret and field keys: from HM_AUTH_SECRET and HM_ENCRYPTION_KEYS when set, otherwise made
 * once and kept in `<dataDir>/secrets.json` (mode 0600) so tokens and encrypted fields survive restarts
 * of the embedded platform. A cluster sets both variables, the same on every gateway.
 */
export async function loadAuthKeys(options: {
  authSecret?: string | undefined
  encryptionKeys?: string | undefined
  dataDir: string
}): Promise<AuthKeys> {
  let saved: { authSecret?: string; encryptionKeys?: string } = {}
  const path = join(options.dataDir, FILE)
  if (options.authSecret === undefined || options.encryptionKeys === undefined) {
    try {
      saved = JSON.parse(await readFile(path, 'utf8'))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
    const missing = saved.authSecret === undefined || saved.encryptionKeys === undefined
    saved.authSecret ??= randomBytes(32).toString('base64url')
    saved.encryptionKeys ??= FieldCipher.generateSpec('local1')
    if (missing) await writeFile(path, JSON.stringify(saved, null, 2), { mode: 0o600 })
  }
  return {
    tokenSecret: new TextEncoder().encode(options.authSecret ?? saved.authSecret),
    cipher: FieldCipher.parse(options.encryptionKeys ?? saved.encryptionKeys!),
  }
}

/** Keys for a process that keeps nothing (tests, an app built without a platform). */
export function ephemeralAuthKeys(): AuthKeys {
  return { tokenSecret: randomBytes(32), cipher: FieldCipher.parse(FieldCipher.generateSpec('mem')) }
}

/**
 * Re-encrypts every field still under an older key with the current one (after a rotation put a new key
 * first in HM_ENCRYPTION_KEYS). Idempotent; returns how many fields moved.
 */
export async function reencryptFields(pool: pg.Pool, cipher: FieldCipher): Promise<number> {
  let moved = 0
  const current = `enc1.${cipher.current.id}.%`
  for (const c of encryptedColumns) {
    const { rows } = await pool.query<{ id: string; v: string }>(
      `SELECT ${c.id}::text AS id, ${c.column} AS v FROM ${c.table}
       WHERE ${c.column} IS NOT NULL AND ${c.column} NOT LIKE $1`,
      [current],
    )
    for (const r of rows) {
      const plain = cipher.decrypt(c.field, r.v)
      const extra = c.table === 'invitations' ? ', email_hash = $3' : ''
      const params = [cipher.encrypt(c.field, plain), r.id]
      if (extra !== '') params.push(cipher.digest('email', plain))
      await pool.query(`UPDATE ${c.table} SET ${c.column} = $1${extra} WHERE ${c.id}::text = $2`, params)
      moved++
    }
  }
  return moved
}
