import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  onRequestHookHandler,
  onSendHookHandler,
} from 'fastify'
import fp from 'fastify-plugin'
import { identifyApiKey } from '../accounts/api-keys.ts'
import type { AccountsContext } from '../accounts/context.ts'
import { apiKeyPermissions, type Permission, type Role } from '../auth/permissions.ts'
import { GatewayError, type GatewayErrorCode } from '../errors.ts'

/** Who is calling: a signed-in user (access token) or an API key, always inside one organisation. */
export interface Principal {
  kind: 'user' | 'api_key'
  userId?: string
  apiKeyId?: string
  orgId: string
  /** The member's role; `api_key` for keys, whose permissions are their scopes. */
  role: Role | 'api_key'
  permissions: Permission[]
  /** The sign-in (refresh-token family) of a user's access token. */
  family?: string
}

/** What a handler adds to its request's audit record (for public routes: who and which organisation). */
export interface AuditInfo {
  orgId?: string
  userId?: string
  target?: string
  details?: Record<string, unknown>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a caller needs. Every route registered after the auth plugin declares one, or `public`. */
    permission?: Permission
    /** Open to anyone (sign-up, sign-in, consent from the SDK); the handler checks what it needs. */
    public?: boolean
    /** The action's name in the audit log; changes are audited without it as `METHOD /route`. */
    audit?: string
    /** The error code of a request that fails its schema (HM_ERR_ACCOUNT_BAD_REQUEST on management routes). */
    validationCode?: GatewayErrorCode
    /** Also take the token from `?access_token=` (WebSockets cannot set headers in browsers). */
    tokenInQuery?: boolean
  }
  interface FastifyRequest {
    principal: Principal | null
    auditInfo: AuditInfo | null
  }
}

/** The caller of a route that declared a permission (the auth hook has run). */
export function principalOf(req: FastifyRequest): Principal {
  if (req.principal === null) throw new GatewayError('HM_ERR_AUTH_MISSING')
  return req.principal
}

/** The signed-in user of a route open to users only. */
export function userOf(req: FastifyRequest): Principal & { userId: string; role: Role } {
  const p = principalOf(req)
  if (p.kind !== 'user' || p.userId === undefined)
    throw new GatewayError('HM_ERR_AUTH_FORBIDDEN', 'users only')
  return p as Principal & { userId: string; role: Role }
}

function tokenOf(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization
  if (auth !== undefined) return auth.startsWith('Bearer ') ? auth.slice(7).trim() : undefined
  if (req.routeOptions.config.tokenInQuery === true) {
    const t = (req.query as Record<string, unknown> | undefined)?.access_token
    return typeof t === 'string' ? t : undefined
  }
  return undefined
}

/** Who the token names, or an error saying why not. */
export async function authenticate(ctx: AccountsContext, token: string): Promise<Principal> {
  if (token.startsWith('hm_')) {
    const key = await identifyApiKey(ctx.pool, ctx.cache, token)
    if (key === undefined) throw new GatewayError('HM_ERR_AUTH_BAD_KEY')
    return {
      kind: 'api_key',
      apiKeyId: key.id,
      orgId: key.orgId,
      role: 'api_key',
      permissions: key.scopes.filter((s) => apiKeyPermissions.includes(s)),
    }
  }
  const c = await ctx.sessions.access.verify(token)
  return {
    kind: 'user',
    userId: c.sub,
    orgId: c.org,
    role: c.role,
    permissions: c.permissions,
    family: c.fam,
  }
}

async function recordAudit(ctx: AccountsContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const p = req.principal
  const info = req.auditInfo
  const orgId = p?.orgId ?? info?.orgId
  const userId = p?.userId ?? info?.userId
  // A request nobody can be named for (a bad token, an unknown email) has no organisation to file it under.
  if (orgId === undefined && userId === undefined) return
  const params = req.params as Record<string, string> | undefined
  const target = info?.target ?? (params && Object.keys(params).length > 0 ? JSON.stringify(params) : null)
  await ctx.pool.query(
    `INSERT INTO audit_log (org_id, actor_user_id, actor_api_key_id, action, target, status, ip, user_agent, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      orgId ?? null,
      userId ?? null,
      p?.apiKeyId ?? null,
      req.routeOptions.config.audit ?? `${req.method} ${req.routeOptions.url}`,
      target,
      reply.statusCode,
      req.ip,
      req.headers['user-agent']?.slice(0, 512) ?? null,
      JSON.stringify(info?.details ?? {}),
    ],
  )
}

/**
 * Authentication and authorisation in one place. Every route registered after this plugin must say
 * what it needs — `config: { permission }` or `config: { public: true }` — or start-up fails naming
 * the route; the check itself is one onRequest hook. Changes (every method but GET) and routes naming
 * an `audit` action are written to the audit log before the answer leaves.
 */
const auth: FastifyPluginAsync<{ ctx: AccountsContext }> = async (app, { ctx }) => {
  app.decorateRequest('principal', null)
  app.decorateRequest('auditInfo', null)

  const authorize = (permission: Permission): onRequestHookHandler =>
    async function authorize(req) {
      const token = tokenOf(req)
      if (token === undefined || token === '') throw new GatewayError('HM_ERR_AUTH_MISSING')
      const principal = await authenticate(ctx, token)
      req.principal = principal
      if (!principal.permissions.includes(permission))
        throw new GatewayError('HM_ERR_AUTH_FORBIDDEN', `needs ${permission}`)
    }

  const audit: onSendHookHandler = async function audit(req, reply, payload) {
    try {
      await recordAudit(ctx, req, reply)
    } catch (err) {
      // The change is done; a lost audit record is logged loudly rather than turned into a failed answer.
      req.log.error({ err }, 'audit record not written')
    }
    return payload
  }

  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { permission?: Permission; public?: boolean; audit?: string }
    if (config.permission === undefined && config.public !== true)
      throw new Error(
        `route ${String(route.method)} ${route.url} declares no permission (config.permission or config.public)`,
      )
    if (config.permission !== undefined) {
      const own =
        route.onRequest === undefined
          ? []
          : Array.isArray(route.onRequest)
            ? route.onRequest
            : [route.onRequest]
      route.onRequest = [authorize(config.permission), ...own]
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    if (config.audit !== undefined || methods.some((m) => m !== 'GET' && m !== 'HEAD')) {
      const own =
        route.onSend === undefined ? [] : Array.isArray(route.onSend) ? route.onSend : [route.onSend]
      route.onSend = [...own, audit]
    }
  })
}

export default fp(auth, { name: 'hm-auth', fastify: '5.x' })
