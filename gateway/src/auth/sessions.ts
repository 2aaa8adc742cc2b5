import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type pg from 'pg'
import { isOperator } from '../accounts/users.ts'
import { GatewayError } from '../errors.ts'
import type { AccessTokens } from './access-tokens.ts'
import { isRole, operatorPermissions, permissionsOf, type Role } from './permissions.ts'

export interface TokenPair {
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  expiresIn: number
  org: string
  role: Role
}

/** A spent refresh token came back: its family is revoked; says whose, for the audit log. */
export class RefreshReuseError extends GatewayError {
  constructor(
    readonly userId: string,
    readonly orgId: string,
    readonly family: string,
  ) {
    super('HM_ERR_AUTH_REFRESH_REUSED', `sign-in ${family} revoked`)
  }
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const REFRESH = /^hmr_[A-Za-z0-9_-]{43}$/

/**
 * Sign-in sessions: an access token plus a rotating refresh token. Each refresh spends its token and
 * hands out the next of the same family; presenting a spent token again means it was copied, so the
 * whole family (every token and access token descended from that sign-in) is revoked.
 */
export class Sessions {
  constructor(
    private readonly pool: pg.Pool,
    readonly access: AccessTokens,
    private readonly refreshTtlS: number,
  ) {}

  private async roleIn(
    db: pg.Pool | pg.PoolClient,
    userId: string,
    orgId: string,
  ): Promise<Role | undefined> {
    const { rows } = await db.query<{ role: string }>(
      'SELECT role FROM memberships WHERE user_id = $1 AND org_id = $2',
      [userId, orgId],
    )
    const role = rows[0]?.role
    return isRole(role) ? role : undefined
  }

  private async pair(
    db: pg.Pool | pg.PoolClient,
    userId: string,
    orgId: string,
    role: Role,
    family: string,
  ): Promise<TokenPair> {
    const refreshToken = `hmr_${randomBytes(32).toString('base64url')}`
    await db.query(
      `INSERT INTO refresh_tokens (family_id, user_id, org_id, token_hash, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [family, userId, orgId, sha256(refreshToken), this.refreshTtlS],
    )
    const accessToken = await this.access.issue({
      userId,
      orgId,
      role,
      // An operator's figures are the instance's, not the organisation's: they come with the user.
      permissions: [...permissionsOf(role), ...((await isOperator(db, userId)) ? operatorPermissions : [])],
      family,
    })
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.access.ttlS, org: orgId, role }
  }

  /** A new family for a user who just proved who they are. */
  async start(userId: string, orgId: string): Promise<TokenPair> {
    const role = await this.roleIn(this.pool, userId, orgId)
    if (role === undefined) throw new GatewayError('HM_ERR_AUTH_NOT_MEMBER', orgId)
    return this.pair(this.pool, userId, orgId, role, randomUUID())
  }

  /** Spends a refresh token for the next pair; the role is read afresh, so a changed role applies now. */
  async rotate(refreshToken: string): Promise<TokenPair & { userId: string }> {
    if (!REFRESH.test(refreshToken)) throw new GatewayError('HM_ERR_AUTH_BAD_REFRESH', 'malformed')
    const client = await this.pool.connect()
    let reused: { family: string; userId: string; orgId: string } | undefined
    try {
      await client.query('BEGIN')
      const { rows } = await client.query<{
        id: string
        family_id: string
        user_id: string
        org_id: string
        used_at: Date | null
        revoked_at: Date | null
        expired: boolean
      }>(
        `SELECT id, family_id, user_id, org_id, used_at, revoked_at, expires_at <= now() AS expired
         FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`,
        [sha256(refreshToken)],
      )
      const row = rows[0]
      if (row === undefined) {
        await client.query('ROLLBACK')
        throw new GatewayError('HM_ERR_AUTH_BAD_REFRESH', 'unknown token')
      }
      if (row.used_at !== null || row.revoked_at !== null) {
        await client.query(
          'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
          [row.family_id],
        )
        await client.query('COMMIT')
        reused = { family: row.family_id, userId: row.user_id, orgId: row.org_id }
      } else if (row.expired) {
        await client.query('ROLLBACK')
        throw new GatewayError('HM_ERR_AUTH_BAD_REFRESH', 'expired')
      } else {
        await client.query('UPDATE refresh_tokens SET used_at = now() WHERE id = $1', [row.id])
        const role = await this.roleIn(client, row.user_id, row.org_id)
        if (role === undefined) {
          await client.query('ROLLBACK')
          throw new GatewayError('HM_ERR_AUTH_NOT_MEMBER', row.org_id)
        }
        const pair = await this.pair(client, row.user_id, row.org_id, role, row.family_id)
        await client.query('COMMIT')
        return { ...pair, userId: row.user_id }
      }
    } catch (e) {
      if (e instanceof GatewayError) throw e
      await client.query('ROLLBACK').catch(() => {})
      throw e
    } finally {
      client.release()
    }
    await this.access.revokeFamilies([reused.family])
    throw new RefreshReuseError(reused.userId, reused.orgId, reused.family)
  }

  /** Ends one sign-in: its refresh tokens and access tokens stop working. */
  async revokeFamily(family: string): Promise<void> {
    await this.pool.query(
      'UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL',
      [family],
    )
    await this.access.revokeFamilies([family])
  }

  /** Ends every sign-in of a user (in one organisation, or everywhere): role change, removal, password reset. */
  async revokeUser(userId: string, orgId?: string): Promise<void> {
    const { rows } = await this.pool.query<{ family_id: string }>(
      `UPDATE refresh_tokens SET revoked_at = now()
       WHERE user_id = $1 AND ($2::uuid IS NULL OR org_id = $2) AND revoked_at IS NULL AND expires_at > now()
       RETURNING family_id`,
      [userId, orgId ?? null],
    )
    await this.access.revokeFamilies([...new Set(rows.map((r) => r.family_id))])
  }
}
