import type pg from 'pg'
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../auth/passwords.ts'
import { isRole, type Role } from '../auth/permissions.ts'
import { GatewayError } from '../errors.ts'

export interface UserRow {
  id: string
  email: string
  name: string
  passwordHash: string
  mfaEnabled: boolean
  mfaSecret: string | null
  mfaLastStep: number | null
}

/** A pool or a client inside a transaction (PGlite has one session: a transaction's reads must use its client). */
export type Queryable = pg.Pool | pg.PoolClient

export const normaliseEmail = (email: string): string => email.trim().toLowerCase()

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH)
    throw new GatewayError(
      'HM_ERR_ACCOUNT_WEAK_PASSWORD',
      `password: ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters`,
    )
}

export async function userByEmail(pool: Queryable, email: string): Promise<UserRow | undefined> {
  return userWhere(pool, 'email = $1', normaliseEmail(email))
}

export async function userById(pool: pg.Pool, id: string): Promise<UserRow | undefined> {
  return userWhere(pool, 'id = $1', id)
}

async function userWhere(pool: Queryable, where: string, value: string): Promise<UserRow | undefined> {
  const { rows } = await pool.query(
    `SELECT id, email, name, password_hash, mfa_enabled, mfa_secret, mfa_last_step FROM users WHERE ${where}`,
    [value],
  )
  const r = rows[0]
  return (
    r && {
      id: r.id,
      email: r.email,
      name: r.name,
      passwordHash: r.password_hash,
      mfaEnabled: r.mfa_enabled,
      mfaSecret: r.mfa_secret,
      mfaLastStep: r.mfa_last_step === null ? null : Number(r.mfa_last_step),
    }
  )
}

/** A new user owning a new organisation, in one transaction. */
export async function signUp(
  pool: pg.Pool,
  s: { email: string; name: string; password: string; organization: string },
): Promise<{ userId: string; orgId: string }> {
  checkPassword(s.password)
  const hash = await hashPassword(s.password)
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const user = await client.query<{ id: string }>(
      'INSERT INTO users (email, name, password_hash) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING RETURNING id',
      [normaliseEmail(s.email), s.name, hash],
    )
    if (user.rows.length === 0) throw new GatewayError('HM_ERR_ACCOUNT_EMAIL_TAKEN', 'email')
    const org = await client.query<{ id: string }>(
      'INSERT INTO organizations (name) VALUES ($1) RETURNING id',
      [s.organization],
    )
    const userId = user.rows[0]!.id
    const orgId = org.rows[0]!.id
    await client.query("INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')", [
      orgId,
      userId,
    ])
    await client.query('COMMIT')
    return { userId, orgId }
  } catch (e) {
    await client.query('ROLLBACK')
    throw e
  } finally {
    client.release()
  }
}

export interface Membership {
  orgId: string
  name: string
  role: Role
}

export async function membershipsOf(pool: pg.Pool, userId: string): Promise<Membership[]> {
  const { rows } = await pool.query<{ org_id: string; name: string; role: string }>(
    `SELECT m.org_id, o.name, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
     WHERE m.user_id = $1 ORDER BY o.created_at, o.id`,
    [userId],
  )
  return rows
    .filter((r) => isRole(r.role))
    .map((r) => ({ orgId: r.org_id, name: r.name, role: r.role as Role }))
}

export async function setPasswordHash(pool: pg.Pool, userId: string, hash: string): Promise<void> {
  await pool.query('UPDATE users SET password_hash = $1, password_changed_at = now() WHERE id = $2', [
    hash,
    userId,
  ])
}

/**
 * Whether a user operates the instance: its first account, or an email `HM_OPERATOR_EMAILS` names (as the
 * gateway last started with it). Read at each sign-in and refresh, so a change applies within one access
 * token's life.
 */
export async function isOperator(db: Queryable, userId: string): Promise<boolean> {
  const { rows } = await db.query<{ operator: boolean }>(
    `SELECT u.is_operator OR EXISTS (SELECT 1 FROM operator_emails o WHERE o.email = u.email) AS operator
     FROM users u WHERE u.id = $1`,
    [userId],
  )
  return rows[0]?.operator === true
}

/** Replaces the emails whose accounts operate the instance (`HM_OPERATOR_EMAILS`, at start-up). */
export async function setOperatorEmails(pool: pg.Pool, emails: readonly string[]): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('DELETE FROM operator_emails')
    await client.query('INSERT INTO operator_emails (email) SELECT DISTINCT unnest($1::text[])', [
      emails.map(normaliseEmail),
    ])
    await client.query('COMMIT')
  } catch (e) {
    await client.query('ROLLBACK')
    throw e
  } finally {
    client.release()
  }
}
