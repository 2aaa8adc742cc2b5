import { randomUUID } from 'node:crypto'
import { errors, jwtVerify, SignJWT } from 'jose'
import { GatewayError } from '../errors.ts'
import type { Cache } from '../stores/cache.ts'
import { isPermission, isRole, type Permission, type Role } from './permissions.ts'

/** The claims of an access token: who (sub), in which organisation (org), as what (role, permissions). */
export interface AccessClaims {
  sub: string
  org: string
  role: Role
  permissions: Permission[]
  iat: number
  exp: number
  /** The refresh-token family it was issued with: revoking the family revokes it. */
  fam: string
  jti: string
}

const ALG = 'HS256'
const familyKey = (family: string) => `revoked-family:${family}`

/**
 * Short-lived HS256 access tokens. Revocation goes through the cache (Redis in a cluster): a revoked
 * family is remembered for one access-token lifetime, after which no token of it can still be valid.
 */
export class AccessTokens {
  constructor(
    private readonly secret: Uint8Array,
    private readonly cache: Cache,
    readonly ttlS: number,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(c: {
    userId: string
    orgId: string
    role: Role
    permissions: Permission[]
    family: string
  }): Promise<string> {
    const iat = Math.floor(this.now() / 1000)
    return new SignJWT({ org: c.orgId, role: c.role, permissions: c.permissions, fam: c.family })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(c.userId)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.ttlS)
      .setJti(randomUUID())
      .sign(this.secret)
  }

  async verify(token: string): Promise<AccessClaims> {
    let payload: Record<string, unknown>
    try {
      ;({ payload } = await jwtVerify(token, this.secret, {
        algorithms: [ALG],
        currentDate: new Date(this.now()),
        requiredClaims: ['sub', 'iat', 'exp', 'jti'],
      }))
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new GatewayError('HM_ERR_AUTH_EXPIRED')
      throw new GatewayError('HM_ERR_AUTH_BAD_TOKEN', (e as Error).message)
    }
    const { sub, org, role, permissions, fam } = payload
    if (typeof sub !== 'string' || typeof org !== 'string' || !isRole(role) || typeof fam !== 'string')
      throw new GatewayError('HM_ERR_AUTH_BAD_TOKEN', 'claims sub, org, role and fam are required')
    if (!Array.isArray(permissions) || !permissions.every(isPermission))
      throw new GatewayError('HM_ERR_AUTH_BAD_TOKEN', 'claim permissions is not a list of permissions')
    if ((await this.cache.get(familyKey(fam))) !== undefined) throw new GatewayError('HM_ERR_AUTH_REVOKED')
    return payload as unknown as AccessClaims
  }

  /** Refuses every access token of these families from now on (their refresh tokens are revoked in PostgreSQL). */
  async revokeFamilies(families: string[]): Promise<void> {
    for (const f of families) await this.cache.set(familyKey(f), '1', (this.ttlS + 5) * 1000)
  }
}
