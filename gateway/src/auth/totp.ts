import { Secret, TOTP } from 'otpauth'

const ISSUER = 'Heatmap platform'

/** A new TOTP secret (160 bits, base32) and its otpauth:// URI for authenticator apps. */
export function newTotp(account: string): { secret: string; uri: string } {
  const totp = new TOTP({ issuer: ISSUER, label: account, secret: new Secret({ size: 20 }) })
  return { secret: totp.secret.base32, uri: totp.toString() }
}

/**
 * Checks a 6-digit code with one step of clock drift either way. Returns the time step it matched, so
 * the caller can refuse a step it already accepted (a code is single-use).
 */
export function checkTotp(secret: string, code: string, now = Date.now()): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined
  const totp = new TOTP({ issuer: ISSUER, secret: Secret.fromBase32(secret) })
  const delta = totp.validate({ token: code, timestamp: now, window: 1 })
  if (delta === null) return undefined
  return Math.floor(now / 1000 / totp.period) + delta
}

/** The current code, for tests and for tools that enrol a device programmatically. */
export function totpCode(secret: string, now = Date.now()): string {
  return new TOTP({ issuer: ISSUER, secret: Secret.fromBase32(secret) }).generate({ timestamp: now })
}
