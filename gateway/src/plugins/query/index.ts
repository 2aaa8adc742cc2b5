import type { HeatmapQueries } from '@hm/actors'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import type { Cache } from '../../stores/cache.ts'
import { authenticated } from './auth.ts'
import compare from './compare.ts'
import elementsPages from './elements-pages.ts'
import exportRoute from './export.ts'
import heatmap from './heatmap.ts'
import { createScope, type PendingCells } from './scope.ts'
import scrollAttention from './scroll-attention.ts'
import sessions from './sessions.ts'

export type { Permission } from './auth.ts'
export type { PendingCells } from './scope.ts'

export interface QueryOptions {
  queries: HeatmapQueries
  pool: pg.Pool
  cache: Cache
  /** Merges live deltas into heatmap answers; without it answers are what ClickHouse holds. */
  pending?: PendingCells
  now?: () => number
}

/**
 * The query API, scoped to the organisation of the caller's API key. Each concept is its own child
 * plugin, so all of them sit behind the one `authenticated` hook registered here first.
 */
const query: FastifyPluginAsync<QueryOptions> = async (app, opts) => {
  const callerOf = authenticated(app, { pool: opts.pool, cache: opts.cache })
  const scope = createScope({
    queries: opts.queries,
    pool: opts.pool,
    pending: opts.pending,
    now: opts.now ?? Date.now,
    callerOf,
  })
  for (const routes of [heatmap, scrollAttention, elementsPages, compare, exportRoute, sessions])
    await app.register(routes, scope)
}

export default fp(query, { name: 'query', encapsulate: true, fastify: '5.x' })
