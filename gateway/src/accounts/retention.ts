import { DEFAULT_RETENTION_DAYS } from '@hm/actors'
import type pg from 'pg'

/**
 * Each website's retention, held in memory for the ClickHouse sink (which asks per row, synchronously).
 * Loaded at start, updated when a website changes here, reloaded by the hourly retention job so changes
 * made through another gateway arrive within the hour.
 */
export class SiteRetentions {
  private days = new Map<string, number>()

  async load(pool: pg.Pool): Promise<void> {
    const { rows } = await pool.query<{ id: string; retention_days: number }>(
      'SELECT id, retention_days FROM websites',
    )
    this.days = new Map(rows.map((r) => [r.id, r.retention_days]))
  }

  get(siteId: string): number {
    return this.days.get(siteId) ?? DEFAULT_RETENTION_DAYS
  }

  set(siteId: string, days: number): void {
    this.days.set(siteId, days)
  }
}
