import type { ClickHouseClient } from '@clickhouse/client'
import { SESSION_ACTOR, sessionActorKey } from '@hm/actors'
import type pg from 'pg'
import type { FieldCipher } from '../auth/field-cipher.ts'

/**
 * A store holding data about visitors. Data-subject access asks each for what it has on a visitor id;
 * deletion asks each to erase it and records what each removed.
 */
export interface VisitorStore {
  name: string
  export(siteId: string, visitorId: string): Promise<Record<string, unknown[]>>
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

/** What of `@clickhouse/client` the ClickHouse store uses (the platform passes its one client). */
export type ClickHouseLike = Pick<ClickHouseClient, 'query' | 'command'>

const EXPORT_LIMIT = 100_000

/**
 * Raw events and session summaries in ClickHouse, and the session actors' stored snapshots and reminders.
 * The aggregated tables (cells, element clicks, scroll depth) hold counts without visitor ids.
 */
export function clickhouseVisitorStore(client: ClickHouseLike, db: string): VisitorStore {
  const rows = async <T>(query: string, params: Record<string, unknown>): Promise<T[]> =>
    (await client.query({ query, format: 'JSONEachRow', query_params: params })).json<T>() as Promise<T[]>
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
      const sessionIds = (
        await rows<{ session_id: string }>(
          `SELECT DISTINCT session_id FROM ${db}.sessions WHERE site_id = {site:String} AND visitor_id = {visitor:String}
           UNION DISTINCT
           SELECT DISTINCT session_id FROM ${db}.events WHERE site_id = {site:String} AND visitor_id = {visitor:String}`,
          p,
        )
      ).map((r) => r.session_id)
      const out: Record<string, number> = {
        events: await count('events', p),
        sessions: await count('sessions', p),
      }
      const sync = { mutations_sync: '1' }
      for (const table of ['events', 'sessions']) {
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
