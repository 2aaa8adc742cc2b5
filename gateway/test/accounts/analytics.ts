import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HeatmapQueries, hourOf, migrateClickHouse, openClickHouse } from '@hm/actors'

/** The page and session every seeded site has, so each query route answers 200 on it. */
export const SEEDED_PAGE = '/p'
export const SEEDED_SESSION = 's1'

export interface Analytics {
  queries: HeatmapQueries
  /** Writes a click, its element, a page view's scroll depth, the raw event and the session summary. */
  seed(siteId: string): Promise<void>
  close(): Promise<void>
}

/** ClickHouse on chDB in a temp dir (open it once per process), migrated, for the query routes. */
export async function openAnalytics(): Promise<Analytics> {
  const dir = await mkdtemp(join(tmpdir(), 'hm-acc-ch-'))
  const client = openClickHouse({ dataDir: dir })
  const db = `acc_${process.pid}_${randomBytes(3).toString('hex')}`
  await migrateClickHouse(client, db)
  const insert = (table: string, row: Record<string, unknown>) =>
    client.insert({ table: `${db}.${table}`, values: [row], format: 'JSONEachRow' })
  return {
    queries: new HeatmapQueries(client, db),
    async seed(siteId) {
      const now = Date.now()
      const dims = {
        site_id: siteId,
        page: SEEDED_PAGE,
        viewport: 'desktop',
        device: 'desktop',
        country: 'DE',
      }
      const hour = hourOf(now)
      await insert('heatmap_cells', { ...dims, type: 'click', hour, cell_x: 10, cell_y: 2, count: 1 })
      await insert('element_clicks', { ...dims, selector: '#cta', hour, off_x: 5, off_y: 5, clicks: 1 })
      await insert('scroll_depth', { ...dims, hour, band: 0, starts: 1, ends: 1, views: 1, fold_sum: 800 })
      await insert('session_events', {
        site_id: siteId,
        session_id: SEEDED_SESSION,
        visitor_id: 'v1',
        device: 'desktop',
        country: 'DE',
        ts0: now,
        ts: [now],
        type: ['click'],
        page: [SEEDED_PAGE],
        viewport: ['desktop'],
        x: [100],
        y: [40],
        vw: [1280],
        vh: [800],
        dw: [1280],
        dh: [3000],
        selector: ['#cta'],
        value: [0],
        referrer: [''],
      })
      await insert('sessions', {
        site_id: siteId,
        session_id: SEEDED_SESSION,
        visitor_id: 'v1',
        started_at: now,
        last_event_at: now,
        clicks: 1,
        events: 1,
        entry_page: SEEDED_PAGE,
        exit_page: SEEDED_PAGE,
        device: 'desktop',
        country: 'DE',
        viewport: 'desktop',
        version: 2,
      })
    },
    async close() {
      await client.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
