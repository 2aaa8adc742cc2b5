import type { FastifyInstance, FastifyRequest } from 'fastify'
import type pg from 'pg'
import { orgOfApiKey } from '../../accounts/api-keys.ts'
import { GatewayError } from '../../errors.ts'
import type { Cache } from '../../stores/cache.ts'

/**
 * What a query route needs of its caller. Every route declares one (`config: { permission }`) so the
 * check that enforces them has a single place to live; an API key today grants all of them.
 */
export type Permission = 'heatmaps:read' | 'sessions:read' | 'heatmaps:export'

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: Permission
  }
}

export interface AuthOptions {
  pool: pg.Pool
  cache: Cache
}

/** The caller of an authenticated request: the organisation every answer is scoped to. */
export interface Caller {
  orgId: string
}

/** Reads the caller that the `authenticated` hook recorded for a request. */
export type CallerOf = (req: FastifyRequest) => Caller

/**
 * Puts every route of `app` (and of the plugins it registers) behind one `authenticated` onRequest
 * hook. A route registered without a declared permission stops start-up, so none is open by mistake.
 */
export function authenticated(app: FastifyInstance, opts: AuthOptions): CallerOf {
  const callers = new WeakMap<FastifyRequest, Caller>()

  app.addHook('onRoute', (route) => {
    if (route.config?.permission === undefined)
      throw new Error(`${route.method} ${route.url}: declare config.permission on every query route`)
  })

  app.addHook('onRequest', async function authenticated(req) {
    const auth = req.headers.authorization
    if (auth === undefined || !auth.startsWith('Bearer ')) throw new GatewayError('HM_ERR_AUTH_MISSING')
    const orgId = await orgOfApiKey(opts.pool, opts.cache, auth.slice(7).trim())
    if (orgId === undefined) throw new GatewayError('HM_ERR_AUTH_BAD_KEY')
    callers.set(req, { orgId })
  })

  return (req) => {
    const caller = callers.get(req)
    // Only reachable if a route escaped the hook above: fail closed rather than answer unscoped.
    if (caller === undefined) throw new GatewayError('HM_ERR_INTERNAL', 'request was not authenticated')
    return caller
  }
}
