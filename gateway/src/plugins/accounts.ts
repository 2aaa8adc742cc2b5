import { createHash, randomBytes } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AccountsContext } from '../accounts/context.ts'
import { Body, bearer, Email, Name, needs, open, Password, RoleName, Uuid } from '../accounts/schemas.ts'
import {
  checkPassword,
  membershipsOf,
  normaliseEmail,
  setPasswordHash,
  signUp,
  userByEmail,
  userById,
} from '../accounts/users.ts'
import { hashPassword, spendVerifyTime, verifyPassword } from '../auth/passwords.ts'
import { RefreshReuseError } from '../auth/sessions.ts'
import { checkTotp, newTotp } from '../auth/totp.ts'
import { GatewayError } from '../errors.ts'
import { userOf } from './auth.ts'

const TokenPair = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'seconds' }),
  org: Type.String(),
  role: RoleName,
})
const Memberships = Type.Array(Type.Object({ orgId: Type.String(), name: Type.String(), role: RoleName }))
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const RESET_TTL_S = 3600
const tags = ['auth']

/** Sign-up, sign-in, token refresh, sign-out, the caller's account, TOTP and password reset. */
const accounts: FastifyPluginAsync<{ ctx: AccountsContext }> = async (app, { ctx }) => {
  const { pool, sessions, throttle, keys } = ctx

  app.post<{ Body: { email: string; name: string; password: string; organization: string } }>(
    '/v1/auth/signup',
    {
      config: open('auth.signup'),
      schema: {
        tags,
        summary: 'Create an account and its organisation (you become its owner)',
        body: Body({ email: Email, name: Name, password: Password, organization: Name }),
        response: { 201: TokenPair },
      },
    },
    async (req, reply) => {
      if (!ctx.settings.signup)
        throw new GatewayError('HM_ERR_AUTH_FORBIDDEN', 'sign-up is by invitation only')
      // Sign-ups count against the address's sign-in budget: one address cannot mint accounts at speed.
      await throttle.check(`signup:${normaliseEmail(req.body.email)}`, req.ip)
      const { userId, orgId } = await signUp(pool, req.body)
      req.auditInfo = { userId, orgId }
      return reply.code(201).send(await sessions.start(userId, orgId))
    },
  )

  app.post<{ Body: { email: string; password: string; totp?: string; orgId?: string } }>(
    '/v1/auth/login',
    {
      config: open('auth.login'),
      schema: {
        tags,
        summary: 'Sign in: an access token and a refresh token',
        description:
          'With MFA on, a sign-in without `totp` is answered HM_ERR_AUTH_MFA_REQUIRED. After HM_LOGIN_MAX_FAILURES failures the account is locked for HM_LOGIN_LOCKOUT_S seconds.',
        body: Body({
          email: Email,
          password: Password,
          totp: Type.Optional(Type.String({ maxLength: 16 })),
          orgId: Type.Optional(Uuid),
        }),
        response: { 200: Type.Composite([TokenPair, Type.Object({ memberships: Memberships })]) },
      },
    },
    async (req) => {
      const email = normaliseEmail(req.body.email)
      await throttle.check(email, req.ip)
      const user = await userByEmail(pool, email)
      if (user === undefined) {
        await spendVerifyTime(req.body.password)
        await throttle.failed(email)
        throw new GatewayError('HM_ERR_AUTH_BAD_CREDENTIALS')
      }
      const memberships = await membershipsOf(pool, user.id)
      req.auditInfo = { userId: user.id, ...(memberships[0] ? { orgId: memberships[0].orgId } : {}) }
      const { ok, rehash } = await verifyPassword(user.passwordHash, req.body.password)
      if (!ok) {
        const locked = await throttle.failed(email)
        req.auditInfo.details = { reason: 'password', locked }
        throw new GatewayError('HM_ERR_AUTH_BAD_CREDENTIALS')
      }
      if (user.mfaEnabled && user.mfaSecret !== null) {
        if (req.body.totp === undefined) throw new GatewayError('HM_ERR_AUTH_MFA_REQUIRED')
        const step = checkTotp(keys.cipher.decrypt('users.mfa_secret', user.mfaSecret), req.body.totp)
        // A step at or before the last one accepted is a replayed code.
        const { rowCount } =
          step === undefined
            ? { rowCount: 0 }
            : await pool.query(
                'UPDATE users SET mfa_last_step = $1 WHERE id = $2 AND (mfa_last_step IS NULL OR mfa_last_step < $1)',
                [step, user.id],
              )
        if (rowCount !== 1) {
          const locked = await throttle.failed(email)
          req.auditInfo.details = { reason: 'totp', locked }
          throw new GatewayError('HM_ERR_AUTH_BAD_MFA')
        }
      }
      await throttle.succeeded(email)
      if (rehash) await setPasswordHash(pool, user.id, await hashPassword(req.body.password))
      const orgId = req.body.orgId ?? memberships[0]?.orgId
      if (orgId === undefined || !memberships.some((m) => m.orgId === orgId))
        throw new GatewayError('HM_ERR_AUTH_NOT_MEMBER', orgId ?? 'no organisation')
      req.auditInfo.orgId = orgId
      return { ...(await sessions.start(user.id, orgId)), memberships }
    },
  )

  app.post<{ Body: { refreshToken: string } }>(
    '/v1/auth/refresh',
    {
      config: open('auth.refresh'),
      schema: {
        tags,
        summary: 'Spend a refresh token for a new pair',
        description:
          'Each refresh token works once. Presenting a spent one revokes every token of its sign-in (HM_ERR_AUTH_REFRESH_REUSED).',
        body: Body({ refreshToken: Type.String({ maxLength: 128 }) }),
        response: { 200: TokenPair },
      },
    },
    async (req) => {
      try {
        const { userId, ...pair } = await sessions.rotate(req.body.refreshToken)
        req.auditInfo = { userId, orgId: pair.org }
        return pair
      } catch (e) {
        if (e instanceof RefreshReuseError)
          req.auditInfo = { userId: e.userId, orgId: e.orgId, details: { reuse: true, family: e.family } }
        throw e
      }
    },
  )

  app.post(
    '/v1/auth/logout',
    {
      config: needs('account:self', 'auth.logout'),
      schema: {
        tags,
        security: bearer,
        summary: 'End this sign-in (its refresh and access tokens)',
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const me = userOf(req)
      if (me.family !== undefined) await sessions.revokeFamily(me.family)
      return reply.code(204).send()
    },
  )

  app.post<{ Body: { orgId: string } }>(
    '/v1/auth/switch',
    {
      config: needs('account:self', 'auth.switch'),
      schema: {
        tags,
        security: bearer,
        summary: 'A new sign-in in another organisation you belong to',
        body: Body({ orgId: Uuid }),
        response: { 200: TokenPair },
      },
    },
    async (req) => sessions.start(userOf(req).userId, req.body.orgId),
  )

  app.get(
    '/v1/me',
    {
      config: needs('account:self'),
      schema: {
        tags,
        security: bearer,
        summary: 'Your account, role and permissions in this organisation, and your organisations',
        response: {
          200: Type.Object({
            id: Type.String(),
            email: Type.String(),
            name: Type.String(),
            mfaEnabled: Type.Boolean(),
            orgId: Type.String(),
            role: RoleName,
            permissions: Type.Array(Type.String()),
            memberships: Memberships,
          }),
        },
      },
    },
    async (req) => {
      const me = userOf(req)
      const user = await userById(pool, me.userId)
      if (user === undefined) throw new GatewayError('HM_ERR_AUTH_REVOKED', 'account deleted')
      return {
        id: user.id,
        email: user.email,
        name: user.name,
        mfaEnabled: user.mfaEnabled,
        orgId: me.orgId,
        role: me.role,
        permissions: me.permissions,
        memberships: await membershipsOf(pool, me.userId),
      }
    },
  )

  app.post(
    '/v1/me/mfa/setup',
    {
      config: needs('account:self', 'auth.mfa_setup'),
      schema: {
        tags,
        security: bearer,
        summary: 'Start TOTP enrolment: a secret for an authenticator app (not active until confirmed)',
        response: { 200: Type.Object({ secret: Type.String(), uri: Type.String() }) },
      },
    },
    async (req) => {
      const me = userOf(req)
      const user = await userById(pool, me.userId)
      if (user === undefined) throw new GatewayError('HM_ERR_AUTH_REVOKED', 'account deleted')
      if (user.mfaEnabled)
        throw new GatewayError('HM_ERR_ACCOUNT_CONFLICT', 'MFA is already on; turn it off first')
      const t = newTotp(user.email)
      await pool.query('UPDATE users SET mfa_secret = $1, mfa_last_step = NULL WHERE id = $2', [
        keys.cipher.encrypt('users.mfa_secret', t.secret),
        me.userId,
      ])
      return t
    },
  )

  const confirmTotp = async (userId: string, code: string): Promise<void> => {
    const user = await userById(pool, userId)
    if (user?.mfaSecret === null || user === undefined)
      throw new GatewayError('HM_ERR_ACCOUNT_CONFLICT', 'no MFA secret; call /v1/me/mfa/setup first')
    const step = checkTotp(keys.cipher.decrypt('users.mfa_secret', user.mfaSecret), code)
    if (step === undefined || (user.mfaLastStep !== null && step <= user.mfaLastStep))
      throw new GatewayError('HM_ERR_AUTH_BAD_MFA')
    await pool.query('UPDATE users SET mfa_last_step = $1 WHERE id = $2', [step, userId])
  }

  app.post<{ Body: { totp: string } }>(
    '/v1/me/mfa/enable',
    {
      config: needs('account:self', 'auth.mfa_enable'),
      schema: {
        tags,
        security: bearer,
        summary: 'Confirm enrolment with a current code; sign-ins then need one',
        body: Body({ totp: Type.String({ maxLength: 16 }) }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const me = userOf(req)
      await confirmTotp(me.userId, req.body.totp)
      await pool.query('UPDATE users SET mfa_enabled = true WHERE id = $1', [me.userId])
      return reply.code(204).send()
    },
  )

  app.post<{ Body: { totp: string; password: string } }>(
    '/v1/me/mfa/disable',
    {
      config: needs('account:self', 'auth.mfa_disable'),
      schema: {
        tags,
        security: bearer,
        summary: 'Turn MFA off (needs the password and a current code)',
        body: Body({ totp: Type.String({ maxLength: 16 }), password: Password }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const me = userOf(req)
      const user = await userById(pool, me.userId)
      if (user === undefined || !(await verifyPassword(user.passwordHash, req.body.password)).ok)
        throw new GatewayError('HM_ERR_AUTH_BAD_CREDENTIALS')
      await confirmTotp(me.userId, req.body.totp)
      await pool.query(
        'UPDATE users SET mfa_enabled = false, mfa_secret = NULL, mfa_last_step = NULL WHERE id = $1',
        [me.userId],
      )
      return reply.code(204).send()
    },
  )

  app.post<{ Body: { email: string } }>(
    '/v1/auth/password/forgot',
    {
      config: open('auth.password_forgot'),
      schema: {
        tags,
        summary: 'Email a one-hour password reset link',
        description:
          'Answers 202 whether or not the email has an account, so it cannot be used to find accounts.',
        body: Body({ email: Email }),
        response: { 202: Type.Object({ status: Type.Literal('sent if the account exists') }) },
      },
    },
    async (req, reply) => {
      const email = normaliseEmail(req.body.email)
      // Reset mail is throttled like sign-ins: one address cannot flood an inbox or probe at speed.
      await throttle.check(`reset:${email}`, req.ip)
      const user = await userByEmail(pool, email)
      if (user !== undefined) {
        const token = `hmp_${randomBytes(32).toString('base64url')}`
        await pool.query(
          `INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))`,
          [sha256(token), user.id, RESET_TTL_S],
        )
        req.auditInfo = { userId: user.id }
        await ctx.mailer.send({
          to: user.email,
          subject: 'Reset your password',
          text: `Set a new password within an hour: ${ctx.settings.publicUrl}/reset-password#${token}\nreset token: ${token}`,
        })
      }
      return reply.code(202).send({ status: 'sent if the account exists' })
    },
  )

  app.post<{ Body: { token: string; password: string } }>(
    '/v1/auth/password/reset',
    {
      config: open('auth.password_reset'),
      schema: {
        tags,
        summary: 'Set a new password with a reset token; every sign-in of the account ends',
        body: Body({ token: Type.String({ maxLength: 128 }), password: Password }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      checkPassword(req.body.password)
      const { rows } = await pool.query<{ user_id: string }>(
        `UPDATE password_resets SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING user_id`,
        [sha256(req.body.token)],
      )
      const userId = rows[0]?.user_id
      if (userId === undefined) throw new GatewayError('HM_ERR_AUTH_BAD_RESET')
      req.auditInfo = { userId }
      await setPasswordHash(pool, userId, await hashPassword(req.body.password))
      await pool.query('UPDATE password_resets SET used_at = now() WHERE user_id = $1 AND used_at IS NULL', [
        userId,
      ])
      await sessions.revokeUser(userId)
      const user = await userById(pool, userId)
      if (user !== undefined) await throttle.succeeded(user.email)
      return reply.code(204).send()
    },
  )
}

export default accounts
