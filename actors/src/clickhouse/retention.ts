import type { ClickHouseClient } from '@clickhouse/client'

/** What a site's data is kept for unless it says otherwise: 13 months, so a year can be compared with the last. */
export const DEFAULT_RETENTION_DAYS = 395
export const MAX_RETENTION_DAYS = 3650

/** The tables holding raw events, which the `events` view shows one row per event. */
export const RAW_EVENT_TABLES = ['session_events_v6', 'session_events', 'events_v4'] as const

/**
 * The tables whose rows carry `retention_days` and expire by `TTL <time> + retention_days` (the `events`
 * view shows the raw events of the three tables here that hold them).
 */
export const RETAINED_TABLES = [
  'heatmap_cells',
  'heatmap_cells_daily',
  ...RAW_EVENT_TABLES,
  'sessions',
  'element_clicks',
  'scroll_depth',
] as const

export function checkRetentionDays(days: number): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)
    throw new RangeError(`retention days must be an integer in 1..${MAX_RETENTION_DAYS}, got ${days}`)
  return days
}

/**
 * Changes the retention of a site's stored rows: every row carries its site's retention (new rows get it
 * when the workers encode them, `SITE_RETENTION`), so a change is one mutation per table, after which ClickHouse
 * recomputes the TTL of the rewritten parts and drops what has expired at its next merge.
 */
export async function setSiteRetention(
  client: ClickHouseClient,
  db: string,
  siteId: string,
  days: number,
): Promise<void> {
  checkRetentionDays(days)
  for (const table of RETAINED_TABLES) {
    await client.command({
      query: `ALTER TABLE ${db}.${table} UPDATE retention_days = {days:UInt16} WHERE site_id = {site:String}`,
      query_params: { days, site: siteId },
      clickhouse_settings: { mutations_sync: '1' },
    })
  }
}
