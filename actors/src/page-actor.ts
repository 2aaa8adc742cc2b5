import { type ActorKey, defineActor } from '@hm/runtime'
import { cellX, cellY, type HeatmapType, hourOf, type ViewportClass, viewportClass } from './grid.ts'

/** An event as the page actor gets it: already validated, masked and attributed by the gateway. */
export interface PageEvent {
  type: HeatmapType
  ts: number
  /** Document coordinates (click, move). */
  x: number
  y: number
  /** Document width, to make x relative. */
  dw: number
  /** Viewport width, for the viewport class. */
  vw: number
  /** Scroll: deepest document y reached by the viewport bottom. */
  depth: number
}

export interface PageMessage {
  events: PageEvent[]
}

/** One row of `heatmap_cells`: site, page, type, viewport class, hour (s), cell x, cell y, count. */
export type CellRow = [string, string, HeatmapType, ViewportClass, number, number, number, number]

interface PageState {
  siteId: string
  page: string
  /** Counts not yet flushed, by `type|viewport|hour|x|y`. */
  pending: Map<string, number>
}

export const PAGE_ACTOR = 'page'

/** The actor key of a page: site id and normalised page, which never contains a space. */
export function pageActorKey(siteId: string, page: string): string {
  return `${siteId} ${page}`
}

function splitKey(key: ActorKey): { siteId: string; page: string } {
  const i = key.indexOf(' ')
  return { siteId: key.slice(0, i), page: key.slice(i + 1) }
}

function bump(pending: Map<string, number>, k: string): void {
  pending.set(k, (pending.get(k) ?? 0) + 1)
}

/**
 * The heatmap of one page of one site. Keeps counts per (type, viewport class, hour, cell) since the
 * last flush and hands them out as rows; ClickHouse sums them.
 * Scroll depth is stored as one count at the band each page view reached; the share reaching a band is
 * the sum from that band down, computed at query time.
 */
export const pageActor = defineActor<PageState, PageMessage, CellRow>({
  type: PAGE_ACTOR,
  initial: (key) => ({ ...splitKey(key), pending: new Map() }),
  receive: (s, m) => {
    for (const e of m.events) {
      const head = `${e.type}|${viewportClass(e.vw)}|${hourOf(e.ts)}|`
      switch (e.type) {
        case 'click':
        case 'move':
          bump(s.pending, `${head}${cellX(e.x, e.dw)}|${cellY(e.y)}`)
          break
        case 'scroll':
          bump(s.pending, `${head}0|${cellY(e.depth)}`)
          break
        case 'pageview':
          bump(s.pending, `${head}0|0`)
          break
      }
    }
    return s
  },
  drain: (s) => {
    if (s.pending.size === 0) return []
    const rows: CellRow[] = []
    for (const [k, count] of s.pending) {
      const [type, vc, hour, x, y] = k.split('|') as [HeatmapType, ViewportClass, string, string, string]
      rows.push([s.siteId, s.page, type, vc, Number(hour), Number(x), Number(y), count])
    }
    s.pending.clear()
    return rows
  },
})
