import type { HeatmapQueries } from '@hm/actors'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import compare from './compare.ts'
import elementsPages from './elements-pages.ts'
import exportRoute from './export.ts'
import heatmap from './heatmap.ts'
import { createScope, type PendingCells } from './scope.ts'
import scrollAttention from './scroll-attention.ts'
import sessions from './sessions.ts'

export type { PendingCells } from './scope.ts'

export interface QueryOptions {
  queries: HeatmapQueries
  pool: pg.Pool
  /** Merges live deltas into heatmap answers; without it answers are what ClickHouse holds. */
  pending?: PendingCells
  now?: () => number
}

/**
 * The query API, scoped to the caller's organisation. It is registered after the auth plugin: each
 * route declares its permission (`config.permission`), which the auth plugin checks for a signed-in
 * user's access token or an API key's scopes, and sets the principal whose organisation scopes every
 * answer. Each concept is its own child plugin.
 */
const query: FastifyPluginAsync<QueryOptions> = async (app, opts) => {
  const scope = createScope({
    queries: opts.queries,
    pool: opts.pool,
    pending: opts.pending,
    now: opts.now ?? Date.now,
  })
  for (const routes of [heatmap, scrollAttention, elementsPages, compare, exportRoute, sessions])
    await app.register(routes, scope)
}

export default fp(query, { name: 'query', encapsulate: true, fastify: '5.x' })
