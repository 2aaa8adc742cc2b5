import { PAGE_ACTOR, RAW_EVENT_TABLES, RETAINED_TABLES, SESSION_ACTOR } from '@hm/actors'
import type { RuntimeStore } from '@hm/runtime'
import type { ActorSync } from './live-state.ts'
import type { ClickHouseLike } from './visitor-stores.ts'

/** Erases everything the analytics store and the actors hold of a website; answers rows removed per table. */
export interface SiteDataEraser {
  erase(siteId: string): Promise<Record<string, number>>
}

/** The runtime's tables holding the site's actors (snapshots and reminders), keyed `<site id> <…>`. */
const RUNTIME_TABLES = ['rt_snapshots', 'rt_reminders'] as const

/**
 * A website's data in ClickHouse — every table whose rows carry the site (`RETAINED_TABLES`: cells and
 * their daily rollup, raw events, sessions, element clicks, scroll depth) — and its actors. First a
 * barrier (everything accepted for the site is applied and stored), then every session that has not
 * ended is told to forget its visitor, so no held-back or final summary comes later; then the rows go
 * (`ALTER TABLE … DELETE`, synchronous), with the snapshots and reminders of the site's session and page
 * actors. Page actors keep nothing between flushes, so the barrier leaves them empty. Last, the runtime's
 * applied flush records go: they carry what the actors drained, the site's raw events among it.
 */
export function clickhouseSiteData(
  sync: ActorSync,
  client: ClickHouseLike,
  db: string,
  journal: Pick<RuntimeStore, 'forgetApplied'>,
): SiteDataEraser {
  const count = async (query: string, params: Record<string, unknown>): Promise<number> => {
    const rs = await client.query({ query, format: 'JSONEachRow', query_params: params })
    return Number((await rs.json<{ n: string }>())[0]?.n ?? 0)
  }
  const mutationsSync = { mutations_sync: '1' }
  return {
    async erase(siteId) {
      await sync.barrier()
      const live = await (
        await client.query({
          query: `SELECT session_id, visitor_id FROM ${db}.sessions FINAL WHERE site_id = {site:String} AND ended = 0`,
          format: 'JSONCompactEachRow',
          query_params: { site: siteId },
        })
      ).json<[string, string]>()
      await sync.forgetSessions(siteId, live)
      const out: Record<string, number> = { sessionsForgotten: live.length }
      const site = { site: siteId }
      const raw: readonly string[] = RAW_EVENT_TABLES
      // Raw events are counted as events (the `events` view), not as the rows of arrays holding them.
      out.events = await count(`SELECT count() AS n FROM ${db}.events WHERE site_id = {site:String}`, site)
      for (const table of RETAINED_TABLES) {
        if (!raw.includes(table)) {
          out[table] = await count(
            `SELECT count() AS n FROM ${db}.${table} WHERE site_id = {site:String}`,
            site,
          )
        }
        await client.command({
          query: `ALTER TABLE ${db}.${table} DELETE WHERE site_id = {site:String}`,
          query_params: site,
          clickhouse_settings: mutationsSync,
        })
      }
      const actors = { types: [SESSION_ACTOR, PAGE_ACTOR], prefix: `${siteId} ` }
      const where = 'type IN {types:Array(String)} AND startsWith(key, {prefix:String})'
      for (const table of RUNTIME_TABLES) {
        out[table] = await count(`SELECT count() AS n FROM ${db}.${table} WHERE ${where}`, actors)
        await client.command({
          query: `ALTER TABLE ${db}.${table} DELETE WHERE ${where}`,
          query_params: actors,
          clickhouse_settings: mutationsSync,
        })
      }
      out.rt_journal = await journal.forgetApplied()
      return out
    },
  }
}
