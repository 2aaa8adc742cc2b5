import { type ActorKey, defineActor } from '@hm/runtime'
import { cellX, cellY, type HeatmapType, hourOf, type ViewportClass, viewportClass } from './grid.ts'
import type { WireEvent } from './wire.ts'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A wire event as the page actor gets it: validated and privacy-filtered by the gateway, URL dropped. */
export type PageEvent = DistributiveOmit<WireEvent, 'url'>

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

function bump(pending: Map<string, number>, k: string, by = 1): void {
  pending.set(k, (pending.get(k) ?? 0) + by)
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
        case 'rage':
        case 'dead':
          bump(s.pending, `${head}${cellX(e.x, e.dw)}|${cellY(e.y)}`)
          break
        case 'scroll':
          bump(s.pending, `${head}0|${cellY(Math.min(e.depth, e.dh))}`)
          break
        case 'attention':
          // The count of an attention cell is visible milliseconds.
          for (let i = 0; i < e.ms.length; i++)
            if (e.ms[i]! > 0) bump(s.pending, `${head}0|${e.band0 + i}`, e.ms[i])
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
