import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AccountsContext } from '../accounts/context.ts'
import {
  acceptInvitation,
  createInvitation,
  listInvitations,
  pendingInvitationRole,
  revokeInvitation,
} from '../accounts/invitations.ts'
import { Body, bearer, Email, Name, needs, open, Password, RoleName, Uuid } from '../accounts/schemas.ts'
import { canManageRole, isRole, type Role } from '../auth/permissions.ts'
import { GatewayError } from '../errors.ts'
import { principalOf, userOf } from './auth.ts'

const Member = Type.Object({
  userId: Type.String(),
  email: Type.String(),
  name: Type.String(),
  role: RoleName,
  mfaEnabled: Type.Boolean(),
})
const Invitation = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: RoleName,
  createdAt: Type.String(),
  expiresAt: Type.String(),
  status: Type.String(),
})
const InvitableRole = Type.Union(['admin', 'manager', 'analyst', 'viewer'].map((r) => Type.Literal(r)))
const UserParams = Type.Object({ userId: Uuid })
const tags = ['team']

/** The organisation, its members, invitations and ownership. */
const members: FastifyPluginAsync<{ ctx: AccountsContext }> = async (app, { ctx }) => {
  const { pool, sessions, keys } = ctx

  const roleOf = async (orgId: string, userId: string): Promise<Role | undefined> => {
    const { rows } = await pool.query<{ role: string }>(
      'SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2',
      [orgId, userId],
    )
    const r = rows[0]?.role
    return isRole(r) ? r : undefined
  }
  /** The target member's role, if the caller may manage members of that role (never themselves). */
  const manageable = async (
    actor: { orgId: string; userId: string; role: Role },
    userId: string,
  ): Promise<Role> => {
    const role = await roleOf(actor.orgId, userId)
    if (role === undefined) throw new GatewayError('HM_ERR_ACCOUNT_NOT_FOUND', `member ${userId}`)
    if (userId === actor.userId)
      throw new GatewayError('HM_ERR_ACCOUNT_CONFLICT', 'you cannot change your own membership')
    if (!canManageRole(actor.role, role))
      throw new GatewayError('HM_ERR_ACCOUNT_ROLE_DENIED', `${actor.role} cannot manage ${role}`)
    return role
  }

  app.get(
    '/v1/org',
    {
      config: needs('org:read'),
      schema: {
        tags,
        security: bearer,
        summary: 'Your organisation',
        response: { 200: Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String() }) },
      },
    },
    async (req) => {
      const { rows } = await pool.query('SELECT id, name, created_at FROM organizations WHERE id = $1', [
        principalOf(req).orgId,
      ])
      const o = rows[0]
      if (o === undefined) throw new GatewayError('HM_ERR_ACCOUNT_NOT_FOUND', 'organisation')
      return { id: o.id, name: o.name, createdAt: o.created_at.toISOString() }
    },
  )

  app.patch<{ Body: { name: string } }>(
    '/v1/org',
    {
      config: needs('org:write', 'org.update'),
      schema: {
        tags,
        security: bearer,
        summary: 'Rename your organisation',
        body: Body({ name: Name }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      await pool.query('UPDATE organizations SET name = $1 WHERE id = $2', [
        req.body.name,
        principalOf(req).orgId,
      ])
      return reply.code(204).send()
    },
  )

  app.delete<{ Body: { confirm: string } }>(
    '/v1/org',
    {
      config: needs('org:delete', 'org.delete'),
      schema: {
        tags,
        security: bearer,
        summary: "Delete the organisation with its websites, members' access, keys and settings",
        body: Body({ confirm: Type.String({ maxLength: 200, description: "the organisation's name" }) }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const me = userOf(req)
      const { rows } = await pool.query<{ name: string }>('SELECT name FROM organizations WHERE id = $1', [
        me.orgId,
      ])
      if (rows[0]?.name !== req.body.confirm)
        throw new GatewayError('HM_ERR_ACCOUNT_BAD_REQUEST', "confirm: must be the organisation's name")
      const users = await pool.query<{ user_id: string }>(
        'SELECT user_id FROM memberships WHERE org_id = $1',
        [me.orgId],
      )
      for (const u of users.rows) await sessions.revokeUser(u.user_id, me.orgId)
      const keys = await pool.query<{ id: string }>('SELECT id FROM api_keys WHERE org_id = $1', [me.orgId])
      await pool.query('DELETE FROM organizations WHERE id = $1', [me.orgId])
      // The audit row outlives nothing of the organisation, so the deletion is recorded without it.
      req.auditInfo = { userId: me.userId, details: { deletedOrg: me.orgId, apiKeys: keys.rowCount } }
      req.principal = null
      return reply.code(204).send()
    },
  )

  app.post<{ Body: { userId: string } }>(
    '/v1/org/transfer',
    {
      config: needs('org:transfer', 'org.transfer'),
      schema: {
        tags,
        security: bearer,
        summary: 'Make another member the owner; you become an admin',
        body: Body({ userId: Uuid }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const me = userOf(req)
      if (req.body.userId === me.userId)
        throw new GatewayError('HM_ERR_ACCOUNT_CONFLICT', 'you already own it')
      const client = await pool.connect()
      try {
        await client.query('BEGIN')
        const to = await client.query(
          "UPDATE memberships SET role = 'owner' WHERE org_id = $1 AND user_id = $2 RETURNING user_id",
          [me.orgId, req.body.userId],
        )
        if (to.rowCount !== 1) throw new GatewayError('HM_ERR_ACCOUNT_NOT_FOUND', `member ${req.body.userId}`)
        await client.query("UPDATE memberships SET role = 'admin' WHERE org_id = $1 AND user_id = $2", [
          me.orgId,
          me.userId,
        ])
        await client.query('COMMIT')
      } catch (e) {
        await client.query('ROLLBACK')
        throw e
      } finally {
        client.release()
      }
      req.auditInfo = { target: req.body.userId }
      await sessions.revokeUser(req.body.userId, me.orgId)
      await sessions.revokeUser(me.userId, me.orgId)
      return reply.code(204).send()
    },
  )

  app.get(
    '/v1/members',
    {
      config: needs('members:read'),
      schema: {
        tags,
        security: bearer,
        summary: 'Members and their roles',
        response: { 200: Type.Array(Member) },
      },
    },
    async (req) => {
      const { rows } = await pool.query(
        `SELECT u.id, u.email, u.name, m.role, u.mfa_enabled FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 ORDER BY u.email`,
        [principalOf(req).orgId],
      )
      return rows.map((r) => ({
        userId: r.id,
        email: r.email,
        name: r.name,
        role: r.role,
        mfaEnabled: r.mfa_enabled,
      }))
    },
  )

  app.patch<{ Params: { userId: string }; Body: { role: Role } }>(
    '/v1/members/:userId',
    {
      config: needs('members:write', 'member.role'),
      schema: {
        tags,
        security: bearer,
        summary: "Change a member's role (within the roles you may manage); their sign-ins end",
        params: UserParams,
        body: Body({ role: InvitableRole }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const me = userOf(req)
      const from = await manageable(me, req.params.userId)
      if (!canManageRole(me.role, req.body.role))
        throw new GatewayError('HM_ERR_ACCOUNT_ROLE_DENIED', `${me.role} cannot grant ${req.body.role}`)
      await pool.query('UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3', [
        req.body.role,
        me.orgId,
        req.params.userId,
      ])
      await sessions.revokeUser(req.params.userId, me.orgId)
      req.auditInfo = { target: req.params.userId, details: { from, to: req.body.role } }
      return reply.code(204).send()
    },
  )

  app.delete<{ Params: { userId: string } }>(
    '/v1/members/:userId',
    {
      config: needs('members:write', 'member.remove'),
      schema: {
        tags,
        security: bearer,
        summary: 'Remove a member; their sign-ins end',
        params: UserParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const me = userOf(req)
      const role = await manageable(me, req.params.userId)
      await pool.query('DELETE FROM memberships WHERE org_id = $1 AND user_id = $2', [
        me.orgId,
        req.params.userId,
      ])
      await sessions.revokeUser(req.params.userId, me.orgId)
      req.auditInfo = { target: req.params.userId, details: { role } }
      return reply.code(204).send()
    },
  )

  app.get(
    '/v1/invitations',
    {
      config: needs('members:read'),
      schema: {
        tags,
        security: bearer,
        summary: 'Invitations, newest first',
        response: { 200: Type.Array(Invitation) },
      },
    },
    async (req) => listInvitations(pool, keys.cipher, principalOf(req).orgId),
  )

  app.post<{ Body: { email: string; role: Role } }>(
    '/v1/invitations',
    {
      config: needs('members:write', 'invitation.create'),
      schema: {
        tags,
        security: bearer,
        summary: 'Invite someone by email with a role (valid 7 days)',
        body: Body({ email: Email, role: InvitableRole }),
        response: { 201: Type.Object({ id: Type.String(), token: Type.String(), link: Type.String() }) },
      },
    },
    async (req, reply) => {
      const me = userOf(req)
      if (!canManageRole(me.role, req.body.role))
        throw new GatewayError('HM_ERR_ACCOUNT_ROLE_DENIED', `${me.role} cannot invite ${req.body.role}`)
      const { id, token } = await createInvitation(pool, keys.cipher, {
        orgId: me.orgId,
        email: req.body.email,
        role: req.body.role,
        invitedBy: me.userId,
      })
      const link = `${ctx.settings.publicUrl}/accept-invitation#${token}`
      await ctx.mailer.send({
        to: req.body.email,
        subject: 'You are invited to a heatmap organisation',
        text: `Join as ${req.body.role}: ${link}\ninvitation token: ${token}`,
      })
      req.auditInfo = { target: id, details: { role: req.body.role } }
      return reply.code(201).send({ id, token, link })
    },
  )

  app.delete<{ Params: { invitationId: string } }>(
    '/v1/invitations/:invitationId',
    {
      config: needs('members:write', 'invitation.revoke'),
      schema: {
        tags,
        security: bearer,
        summary: 'Revoke a pending invitation',
        params: Type.Object({ invitationId: Uuid }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const me = userOf(req)
      const role = await pendingInvitationRole(pool, me.orgId, req.params.invitationId)
      if (role === undefined)
        throw new GatewayError('HM_ERR_ACCOUNT_NOT_FOUND', `invitation ${req.params.invitationId}`)
      if (!canManageRole(me.role, role))
        throw new GatewayError('HM_ERR_ACCOUNT_ROLE_DENIED', `${me.role} cannot manage ${role}`)
      await revokeInvitation(pool, me.orgId, req.params.invitationId)
      return reply.code(204).send()
    },
  )

  app.post<{ Body: { token: string; password: string; name?: string; totp?: string } }>(
    '/v1/invitations/accept',
    {
      config: open('invitation.accept'),
      schema: {
        tags,
        summary: 'Accept an invitation: sign in (existing account) or create the account, and join',
        body: Body({
          token: Type.String({ maxLength: 128 }),
          password: Password,
          name: Type.Optional(Name),
          totp: Type.Optional(
            Type.String({ maxLength: 16, description: 'for an existing account with MFA on' }),
          ),
        }),
        response: {
          200: Type.Object({
            accessToken: Type.String(),
            refreshToken: Type.String(),
            tokenType: Type.Literal('Bearer'),
            expiresIn: Type.Integer(),
            org: Type.String(),
            role: RoleName,
          }),
        },
      },
    },
    async (req) => {
      const { userId, orgId, role } = await acceptInvitation(pool, keys.cipher, req.body)
      req.auditInfo = { userId, orgId, details: { role } }
      return sessions.start(userId, orgId)
    },
  )
}

export default members
