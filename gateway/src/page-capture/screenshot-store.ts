import type pg from 'pg'

export interface StoredScreenshot {
  png: Buffer
  pageHeight: number
  capturedAt: Date
}

export interface ScreenshotKey {
  siteId: string
  /** The page's URL, cleaned (no query string, no fragment but an SPA route). */
  url: string
  width: number
}

/**
 * Screenshots kept in PostgreSQL (table `page_screenshots`), so every gateway of a cluster shares them and
 * a restart does not send Chromium to every page again. Rows go with their website (ON DELETE CASCADE).
 */
export class ScreenshotStore {
  constructor(private readonly pool: pg.Pool) {}

  async get(k: ScreenshotKey): Promise<StoredScreenshot | undefined> {
    const { rows } = await this.pool.query<{ png: Buffer; page_height: number; captured_at: Date }>(
      'SELECT png, page_height, captured_at FROM page_screenshots WHERE site_id = $1 AND url = $2 AND width = $3',
      [k.siteId, k.url, k.width],
    )
    const r = rows[0]
    return r && { png: r.png, pageHeight: r.page_height, capturedAt: r.captured_at }
  }

  /** The page height of a stored screenshot, without reading its image. */
  async pageHeight(k: ScreenshotKey): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ page_height: number }>(
      'SELECT page_height FROM page_screenshots WHERE site_id = $1 AND url = $2 AND width = $3',
      [k.siteId, k.url, k.width],
    )
    return rows[0]?.page_height
  }

  /**
   * Keeps a fresh capture. Rows nobody asked for in `pruneAfterMs` go at the same time: a page still
   * viewed would have been captured again long before.
   */
  async put(k: ScreenshotKey, s: StoredScreenshot, pruneAfterMs: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO page_screenshots (site_id, url, width, png, page_height, captured_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (site_id, url, width)
       DO UPDATE SET png = EXCLUDED.png, page_height = EXCLUDED.page_height, captured_at = EXCLUDED.captured_at`,
      [k.siteId, k.url, k.width, s.png, s.pageHeight, s.capturedAt],
    )
    await this.pool.query('DELETE FROM page_screenshots WHERE captured_at < $1', [
      new Date(s.capturedAt.getTime() - pruneAfterMs),
    ])
  }
}
