import type pg from 'pg'

/**
 * Each website's retention, for the runtime's workers, which stamp every row they encode with its site's
 * (`SITE_RETENTION`). Loaded at start, updated when a website changes here, reloaded by the hourly
 * retention job so changes made through another gateway arrive within the hour; each change goes to the
 * listener.
 */
export class SiteRetentions {
  private current: Readonly<Record<string, number>> = {}
  private listener: ((days: Readonly<Record<string, number>>) => void) | undefined

  /** Every site's retention days. */
  get days(): Readonly<Record<string, number>> {
    return this.current
  }

  /** Calls `listener` with every site's retention now and after each change. */
  onChange(listener: (days: Readonly<Record<string, number>>) => void): void {
    this.listener = listener
    listener(this.current)
  }

  async load(pool: pg.Pool): Promise<void> {
    const { rows } = await pool.query<{ id: string; retention_days: number }>(
      'SELECT id, retention_days FROM websites',
    )
    this.current = Object.fromEntries(rows.map((r) => [r.id, r.retention_days]))
    this.listener?.(this.current)
  }

  set(siteId: string, days: number): void {
    this.current = { ...this.current, [siteId]: days }
    this.listener?.(this.current)
  }
}
