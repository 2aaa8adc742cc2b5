import { type HeatmapQueries, normalizePage, type PageAskCells } from '@hm/actors'
import type { FastifyRequest } from 'fastify'
import type pg from 'pg'
import { orgSite } from '../../accounts/websites.ts'
import { GatewayError } from '../../errors.ts'
import { principalOf } from '../auth.ts'

/** The not-yet-flushed cells of a page, from its actor (`RuntimeHost.ask`): `[x, y, count]` at full resolution. */
export type PendingCells = (
  siteId: string,
  page: string,
  request: PageAskCells,
) => Promise<Array<[number, number, number]>>

/** What every query route works with: the stores, the clock and the caller's site and page. */
export interface QueryScope {
  queries: HeatmapQueries
  /** Merges live deltas into heatmap answers; without it answers are what ClickHouse holds. */
  pending: PendingCells | undefined
  now: () => number
  /** The site if it is the caller's; the same 404 for another organisation's site and a missing one. */
  callerSite(req: FastifyRequest): Promise<string>
  /** For analyses of one page: a page the site never recorded is a 404, not an empty answer. */
  knownPage(siteId: string, raw: string): Promise<string>
}

/** The page as stored (normalised like ingestion: a path or a whole URL both work). */
export const pageOf = (raw: string): string => normalizePage(raw)

export function createScope(opts: {
  queries: HeatmapQueries
  pool: pg.Pool
  pending: PendingCells | undefined
  now: () => number
}): QueryScope {
  const { queries, pool } = opts
  return {
    queries,
    pending: opts.pending,
    now: opts.now,
    async callerSite(req) {
      const { siteId } = req.params as { siteId: string }
      // The caller's organisation, as the auth plugin established it for the route's permission.
      const site = await orgSite(pool, principalOf(req).orgId, siteId)
      if (site === undefined) throw new GatewayError('HM_ERR_QUERY_NOT_FOUND', siteId)
      return site.id
    },
    async knownPage(siteId, raw) {
      const page = pageOf(raw)
      if (!(await queries.pageExists(siteId, page))) throw new GatewayError('HM_ERR_QUERY_UNKNOWN_PAGE', page)
      return page
    },
  }
}
