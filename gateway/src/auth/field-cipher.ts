import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'

/** One AES-256 key and the id stored beside every ciphertext it made. */
export interface FieldKey {
  id: string
  key: Buffer
}

const PREFIX = 'enc1'

/**
 * Field-level AES-256-GCM for PII at rest. A ciphertext is `enc1.<key id>.<iv|tag|data, base64url>`, so
 * after a rotation old rows still name the key that opens them; the first key of the ring encrypts, the
 * others only decrypt until `reencrypt` has moved their rows. The field's name is authenticated data: a
 * ciphertext copied into another column does not open.
 */
export class FieldCipher {
  readonly current: FieldKey
  private readonly ring: Map<string, Buffer>

  constructor(keys: FieldKey[]) {
    if (keys.length === 0) throw new Error('FieldCipher needs at least one key')
    for (const k of keys) {
      if (k.key.length !== 32)
        throw new Error(`encryption key ${k.id}: must be 32 bytes, got ${k.key.length}`)
      if (!/^[A-Za-z0-9_-]{1,32}$/.test(k.id))
        throw new Error(`encryption key id ${JSON.stringify(k.id)}: use [A-Za-z0-9_-]`)
    }
    this.current = keys[0]!
    this.ring = new Map(keys.map((k) => [k.id, k.key]))
  }

  /** Parses `id:base64key,id:base64key` (HM_ENCRYPTION_KEYS), the encrypting key first. */
  static parse(spec: string): FieldCipher {
    return new FieldCipher(
      spec.split(',').map((part) => {
        const [id, b64] = part.trim().split(':')
        if (id === undefined || b64 === undefined)
          throw new Error(`encryption key ${JSON.stringify(part)}: write id:base64key`)
        return { id, key: Buffer.from(b64, 'base64') }
      }),
    )
  }

  static generateSpec(id = `k${Date.now().toString(36)}`): string {
    return `${id}:${randomBytes(32).toString('base64')}`
  }

  encrypt(field: string, plain: string): string {
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', this.current.key, iv)
    c.setAAD(Buffer.from(field))
    const data = Buffer.concat([c.update(plain, 'utf8'), c.final()])
    return `${PREFIX}.${this.current.id}.${Buffer.concat([iv, c.getAuthTag(), data]).toString('base64url')}`
  }

  decrypt(field: string, stored: string): string {
    const [prefix, id, body] = stored.split('.')
    if (prefix !== PREFIX || id === undefined || body === undefined)
      throw new Error(`${field}: not a ciphertext`)
    const key = this.ring.get(id)
    if (key === undefined) throw new Error(`${field}: encrypted under key ${id}, which is not configured`)
    const raw = Buffer.from(body, 'base64url')
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
    d.setAAD(Buffer.from(field))
    d.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')
  }

  encryptOpt(field: string, plain: string | undefined | null): string | null {
    return plain === undefined || plain === null ? null : this.encrypt(field, plain)
  }

  decryptOpt(field: string, stored: string | null): string | undefined {
    return stored === null ? undefined : this.decrypt(field, stored)
  }

  /** The key id a ciphertext names. */
  static keyIdOf(stored: string): string | undefined {
    return stored.split('.')[1]
  }

  /** A keyed, deterministic digest for looking up an encrypted value (the blind index of an email). */
  digest(field: string, value: string): string {
    return createHmac('sha256', this.current.key).update(`${field}\0${value}`).digest('base64url')
  }
}

/** Every encrypted column: table, key column, column, field name (the authenticated data). */
export const encryptedColumns = [
  { table: 'users', id: 'id', column: 'mfa_secret', field: 'users.mfa_secret' },
  { table: 'invitations', id: 'id', column: 'email_enc', field: 'invitations.email' },
  { table: 'consent_records', id: 'id', column: 'ip_enc', field: 'consent_records.ip' },
  { table: 'consent_records', id: 'id', column: 'user_agent_enc', field: 'consent_records.user_agent' },
] as const
