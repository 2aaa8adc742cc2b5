import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { AccountsContext } from '../accounts/context.ts'
import { bearer, needs } from '../accounts/schemas.ts'
import { principalOf } from './auth.ts'

const Entry = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  action: Type.String(),
  status: Type.Integer(),
  actorUserId: Type.Union([Type.String(), Type.Null()]),
  actorApiKeyId: Type.Union([Type.String(), Type.Null()]),
  target: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  userAgent: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown()),
})

/** The organisation's audit log, newest first, for owners and admins. */
const audit: FastifyPluginAsync<{ ctx: AccountsContext }> = async (app, { ctx }) => {
  app.get<{ Querystring: { before?: number; limit?: number; action?: string } }>(
    '/v1/audit',
    {
      config: needs('audit:read'),
      schema: {
        tags: ['audit'],
        security: bearer,
        summary: 'Who did what, when and from where',
        querystring: Type.Object(
          {
            before: Type.Optional(
              Type.Integer({ minimum: 1, description: 'entries older than this id (paging)' }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
            action: Type.Optional(Type.String({ maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ entries: Type.Array(Entry) }) },
      },
    },
    async (req) => {
      const { rows } = await ctx.pool.query(
        `SELECT id, created_at, action, status, actor_user_id, actor_api_key_id, target, ip, user_agent, details
         FROM audit_log WHERE org_id = $1 AND ($2::bigint IS NULL OR id < $2) AND ($3::text IS NULL OR action = $3)
         ORDER BY id DESC LIMIT $4`,
        [principalOf(req).orgId, req.query.before ?? null, req.query.action ?? null, req.query.limit ?? 100],
      )
      return {
        entries: rows.map((r) => ({
          id: Number(r.id),
          at: r.created_at.toISOString(),
          action: r.action,
          status: r.status,
          actorUserId: r.actor_user_id,
          actorApiKeyId: r.actor_api_key_id,
          target: r.target,
          ip: r.ip,
          userAgent: r.user_agent,
          details: r.details,
        })),
      }
    },
  )
}

export default audit
