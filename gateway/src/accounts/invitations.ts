import { createHash, randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { FieldCipher } from '../auth/field-cipher.ts'
import { hashPassword, verifyPassword } from '../auth/passwords.ts'
import type { Role } from '../auth/permissions.ts'
import { checkTotp } from '../auth/totp.ts'
import { GatewayError } from '../errors.ts'
import { checkPassword, normaliseEmail, userByEmail } from './users.ts'

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const INVITATION_TTL_S = 7 * 86_400

export interface Invitation {
  id: string
  email: string
  role: Role
  createdAt: string
  expiresAt: string
  status: 'pending' | 'accepted' | 'revoked' | 'expired'
}

/** An invitation to join with a role; the token goes to the invitee, only its hash is kept. */
export async function createInvitation(
  pool: pg.Pool,
  cipher: FieldCipher,
  i: { orgId: string; email: string; role: Role; invitedBy: string | null },
): Promise<{ id: string; token: string }> {
  const email = normaliseEmail(i.email)
  const taken = await pool.query(
    'SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND u.email = $2',
    [i.orgId, email],
  )
  if (taken.rowCount !== 0) throw new GatewayError('HM_ERR_ACCOUNT_CONFLICT', `${email} is already a member`)
  const token = `hmi_${randomBytes(32).toString('base64url')}`
  // A new invitation to the same address replaces the pending one.
  await pool.query(
    `UPDATE invitations SET revoked_at = now()
     WHERE org_id = $1 AND email_hash = $2 AND accepted_at IS NULL AND revoked_at IS NULL`,
    [i.orgId, cipher.digest('email', email)],
  )
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO invitations (org_id, email_hash, email_enc, role, token_hash, invited_by, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7)) RETURNING id`,
    [
      i.orgId,
      cipher.digest('email', email),
      cipher.encrypt('invitations.email', email),
      i.role,
      sha256(token),
      i.invitedBy,
      INVITATION_TTL_S,
    ],
  )
  return { id: rows[0]!.id, token }
}

export async function listInvitations(
  pool: pg.Pool,
  cipher: FieldCipher,
  orgId: string,
): Promise<Invitation[]> {
  const { rows } = await pool.query(
    `SELECT id, email_enc, role, created_at, expires_at, accepted_at, revoked_at, expires_at <= now() AS expired
     FROM invitations WHERE org_id = $1 ORDER BY created_at DESC LIMIT 500`,
    [orgId],
  )
  return rows.map((r) => ({
    id: r.id,
    email: cipher.decrypt('invitations.email', r.email_enc),
    role: r.role,
    createdAt: r.created_at.toISOString(),
    expiresAt: r.expires_at.toISOString(),
    status: r.accepted_at ? 'accepted' : r.revoked_at ? 'revoked' : r.expired ? 'expired' : 'pending',
  }))
}

/** The role of a pending invitation of this organisation (for the caller's right to revoke it). */
export async function pendingInvitationRole(
  pool: pg.Pool,
  orgId: string,
  id: string,
): Promise<Role | undefined> {
  const { rows } = await pool.query<{ role: Role }>(
    'SELECT role FROM invitations WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL',
    [id, orgId],
  )
  return rows[0]?.role
}

export async function revokeInvitation(pool: pg.Pool, orgId: string, id: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    'UPDATE invitations SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL',
    [id, orgId],
  )
  return rowCount === 1
}

/**
 * Accepts an invitation: the invited address's existing account proves itself with its password, or a
 * new account is made with the name and password given. Returns the member and organisation.
 */
export async function acceptInvitation(
  pool: pg.Pool,
  cipher: FieldCipher,
  a: { token: string; password: string; name?: string | undefined; totp?: string | undefined },
): Promise<{ userId: string; orgId: string; role: Role }> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const { rows } = await client.query(
      `UPDATE invitations SET accepted_at = now()
       WHERE token_hash = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
       RETURNING org_id, role, email_enc`,
      [sha256(a.token)],
    )
    const inv = rows[0]
    if (inv === undefined) throw new GatewayError('HM_ERR_ACCOUNT_BAD_INVITATION')
    const email = cipher.decrypt('invitations.email', inv.email_enc)
    const existing = await userByEmail(client, email)
    let userId: string
    if (existing !== undefined) {
      if (!(await verifyPassword(existing.passwordHash, a.password)).ok)
        throw new GatewayError('HM_ERR_AUTH_BAD_CREDENTIALS')
      // Joining signs in: an account with MFA proves its second factor here too.
      if (existing.mfaEnabled && existing.mfaSecret !== null) {
        if (a.totp === undefined) throw new GatewayError('HM_ERR_AUTH_MFA_REQUIRED')
        const step = checkTotp(cipher.decrypt('users.mfa_secret', existing.mfaSecret), a.totp)
        const used = await client.query(
          'UPDATE users SET mfa_last_step = $1 WHERE id = $2 AND (mfa_last_step IS NULL OR mfa_last_step < $1)',
          [step ?? -1, existing.id],
        )
        if (step === undefined || used.rowCount !== 1) throw new GatewayError('HM_ERR_AUTH_BAD_MFA')
      }
      userId = existing.id
    } else {
      if (a.name === undefined)
        throw new GatewayError('HM_ERR_ACCOUNT_BAD_REQUEST', 'name: required for a new account')
      checkPassword(a.password)
      const u = await client.query<{ id: string }>(
        'INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id',
        [email, a.name, await hashPassword(a.password)],
      )
      userId = u.rows[0]!.id
    }
    const m = await client.query(
      'INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
      [inv.org_id, userId, inv.role],
    )
    if (m.rowCount !== 1) throw new GatewayError('HM_ERR_ACCOUNT_CONFLICT', 'already a member')
    await client.query('COMMIT')
    return { userId, orgId: inv.org_id, role: inv.role }
  } catch (e) {
    await client.query('ROLLBACK')
    throw e
  } finally {
    client.release()
  }
}
