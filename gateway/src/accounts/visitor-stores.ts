import type { ClickHouseClient } from '@clickhouse/client'
import { RAW_EVENT_TABLES, SESSION_ACTOR, sessionActorKey } from '@hm/actors'
import type { RuntimeStore } from '@hm/runtime'
import type pg from 'pg'
import type { FieldCipher } from '../auth/field-cipher.ts'
import type { Cache } from '../stores/cache.ts'
import { consentKey } from './consent.ts'
import type { ActorSync } from './live-state.ts'

/**
 * A store holding data about visitors. Data-subject access asks each that keeps records for what it has
 * on a visitor id; deletion asks each, in order, to erase it and records what each removed.
 */
export interface VisitorStore {
  name: string
  /** Absent where the store keeps only working copies of what the others hold (caches, live state). */
  export?(siteId: string, visitorId: string): Promise<Record<string, unknown[]>>
  erase(siteId: string, visitorId: string): Promise<Record<string, number>>
}

/** Consent records in PostgreSQL (their IPs and user agents decrypted for the export). */
export function postgresVisitorStore(pool: pg.Pool, cipher: FieldCipher): VisitorStore {
  return {
    name: 'postgres',
    async export(siteId, visitorId) {
      const { rows } = await pool.query(
        `SELECT granted, source, ip_enc, user_agent_enc, created_at FROM consent_records
         WHERE site_id = $1 AND visitor_id = $2 ORDER BY id`,
        [siteId, visitorId],
      )
      return {
        consentRecords: rows.map((r) => ({
          granted: r.granted,
          source: r.source,
          ip: cipher.decryptOpt('consent_records.ip', r.ip_enc) ?? null,
          userAgent: cipher.decryptOpt('consent_records.user_agent', r.user_agent_enc) ?? null,
          at: r.created_at.toISOString(),
        })),
      }
    },
    async erase(siteId, visitorId) {
      const { rowCount } = await pool.query(
        'DELETE FROM consent_records WHERE site_id = $1 AND visitor_id = $2',
        [siteId, visitorId],
      )
      return { consentRecords: rowCount ?? 0 }
    },
  }
}

/**
 * The runtime's applied flush records: what the actors drained, raw events among it, kept until pruned
 * by the hour. After the rows are deleted, every applied record goes at once.
 */
export function journalVisitorStore(journal: Pick<RuntimeStore, 'forgetApplied'>): VisitorStore {
  return {
    name: 'journal',
    async erase() {
      return { flushRecords: await journal.forgetApplied() }
    },
  }
}

/** The visitor's cached consent decision (Redis in a cluster), which ingestion reads before PostgreSQL. */
export function cacheVisitorStore(cache: Cache): VisitorStore {
  return {
    name: 'cache',
    async erase(siteId, visitorId) {
      const key = consentKey(siteId, visitorId)
      const held = (await cache.get(key)) !== undefined
      await cache.del(key)
      return { consentDecision: held ? 1 : 0 }
    },
  }
}

/** What of `@clickhouse/client` the ClickHouse stores use (the platform passes its one client). */
export type ClickHouseLike = Pick<ClickHouseClient, 'query' | 'command'>

async function rowsOf<T>(
  client: ClickHouseLike,
  query: string,
  params: Record<string, unknown>,
): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow', query_params: params })).json<T>() as Promise<
    T[]
  >
}

/** The sessions of a visitor that ClickHouse knows (a summary or a raw event). */
async function sessionsOf(client: ClickHouseLike, db: string, siteId: string, visitorId: string) {
  return (
    await rowsOf<{ session_id: string }>(
      client,
      `SELECT DISTINCT session_id FROM ${db}.sessions WHERE site_id = {site:String} AND visitor_id = {visitor:String}
       UNION DISTINCT
       SELECT DISTINCT session_id FROM ${db}.events WHERE site_id = {site:String} AND visitor_id = {visitor:String}`,
      { site: siteId, visitor: visitorId },
    )
  ).map((r) => r.session_id)
}

/**
 * The live state of the visitor's session actors. A session can be in memory only (events applied, not
 * flushed) or not even applied yet (accepted, queued in the transport), so ClickHouse alone cannot name
 * every session. First a barrier: every shard applies and stores what was accepted before the request,
 * after which each session of the visitor has a summary and raw events in ClickHouse. Then each of those
 * sessions is told to forget the visitor (`SessionForget`, through the transport), and the step waits until
 * that is stored: the actors are empty, their timers and end reminders cancelled, and what they had written
 * is in ClickHouse for the next store to delete. Batches accepted after the request are new data.
 */
export function liveVisitorStore(sync: ActorSync, client: ClickHouseLike, db: string): VisitorStore {
  return {
    name: 'actors',
    async erase(siteId, visitorId) {
      await sync.barrier()
      const sessions = await sessionsOf(client, db, siteId, visitorId)
      await sync.forgetSessions(
        siteId,
        sessions.map((s) => [s, visitorId] as const),
      )
      return { sessionsForgotten: sessions.length }
    },
  }
}

const EXPORT_LIMIT = 100_000

/**
 * Raw events and session summaries in ClickHouse, and the session actors' stored snapshots and reminders.
 * The aggregated tables (cells, element clicks, scroll depth) hold counts without visitor ids.
 */
export function clickhouseVisitorStore(client: ClickHouseLike, db: string): VisitorStore {
  const rows = <T>(query: string, params: Record<string, unknown>): Promise<T[]> =>
    rowsOf<T>(client, query, params)
  const count = async (table: string, params: Record<string, unknown>): Promise<number> =>
    Number(
      (
        await rows<{ n: string }>(
          `SELECT count() AS n FROM ${db}.${table} WHERE site_id = {site:String} AND visitor_id = {visitor:String}`,
          params,
        )
      )[0]?.n ?? 0,
    )
  return {
    name: 'clickhouse',
    async export(siteId, visitorId) {
      const p = { site: siteId, visitor: visitorId }
      const sessions = await rows<Record<string, unknown>>(
        `SELECT * EXCEPT (version, retention_days) FROM ${db}.sessions FINAL
         WHERE site_id = {site:String} AND visitor_id = {visitor:String} ORDER BY started_at LIMIT ${EXPORT_LIMIT}`,
        p,
      )
      const events = await rows<Record<string, unknown>>(
        `SELECT * EXCEPT (retention_days) FROM ${db}.events
         WHERE site_id = {site:String} AND visitor_id = {visitor:String} ORDER BY ts LIMIT ${EXPORT_LIMIT}`,
        p,
      )
      return { sessions, events }
    },
    async erase(siteId, visitorId) {
      const p = { site: siteId, visitor: visitorId }
      const sessionIds = await sessionsOf(client, db, siteId, visitorId)
      const out: Record<string, number> = {
        events: await count('events', p),
        sessions: await count('sessions', p),
      }
      const sync = { mutations_sync: '1' }
      // `events` is a view: the rows are in the tables under it.
      for (const table of [...RAW_EVENT_TABLES, 'sessions']) {
        await client.command({
          query: `ALTER TABLE ${db}.${table} DELETE WHERE site_id = {site:String} AND visitor_id = {visitor:String}`,
          query_params: p,
          clickhouse_settings: sync,
        })
      }
      if (sessionIds.length > 0) {
        const keys = sessionIds.map((s) => sessionActorKey(siteId, s))
        for (const table of ['rt_snapshots', 'rt_reminders']) {
          await client.command({
            query: `ALTER TABLE ${db}.${table} DELETE WHERE type = {type:String} AND key IN {keys:Array(String)}`,
            query_params: { type: SESSION_ACTOR, keys },
            clickhouse_settings: sync,
          })
        }
      }
      out.sessionActors = sessionIds.length
      return out
    },
  }
}
