import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import { createScopedApiKey, listApiKeys, revokeApiKey } from '../accounts/api-keys.ts'
import type { AccountsContext } from '../accounts/context.ts'
import { Body, bearer, Name, needs, Uuid } from '../accounts/schemas.ts'
import { apiKeyPermissions, defaultApiKeyScopes, type Permission } from '../auth/permissions.ts'
import { GatewayError } from '../errors.ts'
import { principalOf } from './auth.ts'

const Scope = Type.Union(apiKeyPermissions.map((p) => Type.Literal(p)))
const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  scopes: Type.Array(Type.String()),
  createdAt: Type.String(),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
})
const tags = ['api keys']

/** API keys for programmatic access, each limited to scopes its creator holds. */
const apiKeys: FastifyPluginAsync<{ ctx: AccountsContext }> = async (app, { ctx }) => {
  app.get(
    '/v1/api-keys',
    {
      config: needs('api_keys:read'),
      schema: {
        tags,
        security: bearer,
        summary: 'API keys of your organisation (never the keys themselves)',
        response: { 200: Type.Array(ApiKey) },
      },
    },
    async (req) => listApiKeys(ctx.pool, principalOf(req).orgId),
  )

  app.post<{ Body: { name: string; scopes?: Permission[] } }>(
    '/v1/api-keys',
    {
      config: needs('api_keys:write', 'api_key.create'),
      schema: {
        tags,
        security: bearer,
        summary: 'Create an API key; the key is in this answer only',
        body: Body({
          name: Name,
          scopes: Type.Optional(Type.Array(Scope, { minItems: 1, uniqueItems: true })),
        }),
        response: {
          201: Type.Object({ id: Type.String(), key: Type.String(), scopes: Type.Array(Type.String()) }),
        },
      },
    },
    async (req, reply) => {
      const me = principalOf(req)
      const scopes = req.body.scopes ?? [...defaultApiKeyScopes]
      const beyond = scopes.filter((s) => !me.permissions.includes(s))
      if (beyond.length > 0)
        throw new GatewayError('HM_ERR_AUTH_FORBIDDEN', `you do not hold ${beyond.join(', ')}`)
      const { id, token } = await createScopedApiKey(ctx.pool, {
        orgId: me.orgId,
        name: req.body.name,
        scopes,
        createdBy: me.userId ?? null,
      })
      req.auditInfo = { target: id, details: { name: req.body.name, scopes } }
      return reply.code(201).send({ id, key: token, scopes })
    },
  )

  app.delete<{ Params: { keyId: string } }>(
    '/v1/api-keys/:keyId',
    {
      config: needs('api_keys:write', 'api_key.revoke'),
      schema: {
        tags,
        security: bearer,
        summary: 'Revoke an API key (at once, on every gateway)',
        params: Type.Object({ keyId: Uuid }),
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      if (!(await revokeApiKey(ctx.pool, ctx.cache, principalOf(req).orgId, req.params.keyId)))
        throw new GatewayError('HM_ERR_ACCOUNT_NOT_FOUND', `api key ${req.params.keyId}`)
      return reply.code(204).send()
    },
  )
}

export default apiKeys
