import { scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'
import { hash, parseOptions, verify } from '@node-rs/argon2'

/** OWASP's argon2id floor (19 MiB, 2 passes, 1 lane); argon2id is the library's default algorithm. */
const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export const MIN_PASSWORD_LENGTH = 10
export const MAX_PASSWORD_LENGTH = 256

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2)
}

/**
 * Checks a password against a stored hash: argon2id, or the scrypt hashes written before argon2id
 * (`scrypt$salt$key`, the demo owner of older data dirs). `rehash` says the caller should store a new
 * argon2id hash now that it has the plain password.
 */
export async function verifyPassword(
  stored: string,
  password: string,
): Promise<{ ok: boolean; rehash: boolean }> {
  if (stored.startsWith('$argon2')) {
    const ok = await verify(stored, password)
    if (!ok) return { ok, rehash: false }
    const p = parseOptions(stored)
    const weaker =
      !stored.startsWith('$argon2id$') || p.memoryCost < ARGON2.memoryCost || p.timeCost < ARGON2.timeCost
    return { ok, rehash: weaker }
  }
  if (stored.startsWith('scrypt$')) {
    const [, salt, key] = stored.split('$')
    if (salt === undefined || key === undefined) return { ok: false, rehash: false }
    const want = Buffer.from(key, 'base64')
    const got = (await promisify(scrypt)(password, Buffer.from(salt, 'base64'), want.length)) as Buffer
    const ok = got.length === want.length && timingSafeEqual(got, want)
    return { ok, rehash: ok }
  }
  return { ok: false, rehash: false }
}

/** A hash of nothing anyone knows: login of an unknown email spends the same time as a wrong password. */
let decoy: Promise<string> | undefined
export async function spendVerifyTime(password: string): Promise<void> {
  decoy ??= hashPassword('decoy password of no account')
  await verify(await decoy, password)
}
