import { type ActorContext, type ActorKey, defineActor } from '@hm/runtime'
import {
  cellX,
  cellY,
  type HeatmapType,
  hourOf,
  MAX_Y_CELL,
  NO_OFFSET,
  offsetCell,
  type ViewportClass,
  viewportClass,
} from './grid.ts'
import { type Events, eventsOf, isEncodedMessage, readPageMessage } from './message-codec.ts'
import { type CellDims, PendingGrid } from './pending-grid.ts'
import type { WireEvent } from './wire.ts'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A wire event as the page actor gets it: validated and privacy-filtered by the gateway, URL dropped. */
export type PageEvent = DistributiveOmit<WireEvent, 'url'>

export interface PageMessage {
  events: readonly PageEvent[]
  /** Device class and country of the sender, when the gateway knows them ('' otherwise). */
  device?: string
  country?: string
}

/** Sent by the actor to itself: publish the live delta gathered since the last one. */
export interface PageLiveTick {
  tick: 'live'
}

/** Cell counts of `heatmap_cells`: site, page, type, viewport, device, country, hour (s), x, y, count. */
export type CellRow = [
  string,
  string,
  HeatmapType,
  ViewportClass,
  string,
  string,
  number,
  number,
  number,
  number,
]

/**
 * Element click aggregates of `element_clicks`: site, page, selector, viewport, device, country, hour (s),
 * offset cell x, offset cell y, clicks, rage bursts, clicks in rage bursts, dead clicks.
 */
export type ElementRow = [
  string,
  string,
  string,
  string,
  string,
  string,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
]

/** What a page actor drains: cell rows and element rows, tagged by table. */
export type PageRecord = ['c', CellRow] | ['e', ElementRow]

/** A live grid delta, published while someone watches the page (`pageTopic`). */
export interface PageLiveDelta {
  siteId: string
  page: string
  /** Runtime time of the publish, ms. */
  at: number
  /** `[type, viewport, x, y, count]` added since the previous delta. */
  cells: Array<[HeatmapType, ViewportClass, number, number, number]>
}

/** What `ask` answers: the counts not flushed yet, for a query to merge with the stored ones. */
export interface PageAskCells {
  kind: 'cells'
  type: HeatmapType
  viewport?: ViewportClass | undefined
  device?: string | undefined
  country?: string | undefined
  /** Hours (s) kept: `[fromHour, toHour)`. */
  fromHour?: number | undefined
  toHour?: number | undefined
}

interface PageState {
  siteId: string
  page: string
  grid: PendingGrid
  /** Counts since the last live publish by `type|viewport|x|y`; only while someone watches. */
  live: Map<string, number>
  liveScheduled: boolean
  /** Runtime time of the last live publish. */
  lastLiveAt: number
}

export const PAGE_ACTOR = 'page'
/** Pending cells and element records one page actor may hold before it coarsens (see `PendingGrid`). */
export const PAGE_MAX_PENDING = 200_000
/** Live deltas are coalesced to at most one per this many ms (five updates a second). */
export const LIVE_INTERVAL_MS = 200

/**
 * The actor key of a page: site id and normalised page (which never contains a space, URL paths being
 * percent-encoded), and for a split hot page the split index (see `routeBatch`).
 */
export function pageActorKey(siteId: string, page: string, split = 0): string {
  return split === 0 ? `${siteId} ${page}` : `${siteId} ${page} ${split}`
}

/** The live topic of a page; every split of the page publishes to it. */
export function pageTopic(siteId: string, page: string): string {
  return `hm.live.${siteId} ${page}`
}

function splitKey(key: ActorKey): { siteId: string; page: string } {
  const [siteId = '', page = ''] = key.split(' ')
  return { siteId, page }
}

function record(s: PageState, watching: boolean, d: CellDims, x: number, y: number, by: number): void {
  s.grid.addCell(d, x, y, by)
  if (!watching) return
  const k = `${d.type}|${d.viewport}|${x}|${y}`
  s.live.set(k, (s.live.get(k) ?? 0) + by)
}

/**
 * Publishes the live delta now if the last one is at least `LIVE_INTERVAL_MS` old (a quiet page's
 * update goes out at once), or sets a timer for when it will be (a busy page's updates are coalesced).
 */
function publishLive(s: PageState, ctx: ActorContext<PageMessage | PageLiveTick>): void {
  if (s.liveScheduled || s.live.size === 0) return
  const wait = s.lastLiveAt + LIVE_INTERVAL_MS - ctx.now()
  if (wait > 0) {
    s.liveScheduled = true
    ctx.setTimer('live', wait, { tick: 'live' })
    return
  }
  const cells: PageLiveDelta['cells'] = []
  for (const [k, n] of s.live) {
    const [type, vc, x, y] = k.split('|') as [HeatmapType, ViewportClass, string, string]
    cells.push([type, vc, Number(x), Number(y), n])
  }
  s.live.clear()
  s.lastLiveAt = ctx.now()
  const delta: PageLiveDelta = { siteId: s.siteId, page: s.page, at: s.lastLiveAt, cells }
  ctx.publish(pageTopic(s.siteId, s.page), delta)
}

function apply(
  s: PageState,
  m: Omit<PageMessage, 'events'>,
  events: Events<PageEvent>,
  ctx: ActorContext<PageMessage | PageLiveTick>,
): void {
  const device = m.device ?? ''
  const country = m.country ?? ''
  // Live-only data is kept only while someone watches the page.
  const watching = ctx.watched(pageTopic(s.siteId, s.page))
  if (!watching && s.live.size > 0) s.live.clear()
  // One dims object for each run of alike events (a batch's are mostly of one type, viewport and hour),
  // not one per event: the grid keeps an object it is given as it is, and it is never changed.
  let d: CellDims | undefined
  while (events.left > 0) {
    const e = events.next()
    const viewport = viewportClass(e.vw)
    const hour = hourOf(e.ts)
    if (d === undefined || d.type !== e.type || d.viewport !== viewport || d.hour !== hour)
      d = { type: e.type, viewport, device, country, hour }
    switch (e.type) {
      case 'click':
        record(s, watching, d, cellX(e.x, e.dw), cellY(e.y), 1)
        if (e.selector)
          s.grid.addElement(
            { ...elementDims(d, e.selector), offX: offsetCell(e.ox), offY: offsetCell(e.oy) },
            { clicks: 1 },
          )
        break
      case 'move':
      case 'dead':
        record(s, watching, d, cellX(e.x, e.dw), cellY(e.y), 1)
        if (e.type === 'dead' && e.selector) s.grid.addElement(elementDims(d, e.selector), { dead: 1 })
        break
      case 'rage':
        // A rage cell counts bursts; the element keeps bursts and the clicks they held.
        record(s, watching, d, cellX(e.x, e.dw), cellY(e.y), 1)
        if (e.selector) s.grid.addElement(elementDims(d, e.selector), { rage: 1, rageClicks: e.count })
        break
      case 'attention':
        // The count of an attention cell is visible milliseconds.
        for (let i = 0; i < e.ms.length; i++) {
          const ms = e.ms[i]!
          if (ms > 0) record(s, watching, d, 0, Math.min(MAX_Y_CELL, e.band0 + i), ms)
        }
        break
      case 'pageview':
        record(s, watching, d, 0, 0, 1)
        break
      case 'scroll':
        // Scroll depth needs the page view's previous depth: the session actor keeps it and writes the
        // scroll_depth table; a page actor holds no per-view state.
        break
    }
  }
}

function elementDims(d: CellDims, selector: string) {
  return {
    viewport: d.viewport,
    device: d.device,
    country: d.country,
    hour: d.hour,
    selector,
    offX: NO_OFFSET,
    offY: NO_OFFSET,
  }
}

/**
 * The heatmap of one page of one site (or of one split of a hot page). Keeps the counts per (type,
 * viewport class, device, country, hour, cell) since the last flush, and element click aggregates, and
 * hands them out as rows; ClickHouse sums them. While a console watches the page it also publishes the
 * deltas: at once when the page is quiet, coalesced to one message per `LIVE_INTERVAL_MS` when busy.
 */
export const pageActor = defineActor<PageState, PageMessage | PageLiveTick | Uint8Array, PageRecord>({
  type: PAGE_ACTOR,
  initial: (key) => ({
    ...splitKey(key),
    grid: new PendingGrid(PAGE_MAX_PENDING),
    live: new Map(),
    liveScheduled: false,
    lastLiveAt: 0,
  }),
  receive: (s, message, ctx) => {
    // As routed (`encodePageMessage`), read one event at a time, or an object (a message stored before
    // that layout, or a tick).
    if (isEncodedMessage(message)) {
      const { message: m, events } = readPageMessage(message)
      apply(s, m, events, ctx)
    } else if ('tick' in message) {
      s.liveScheduled = false
      publishLive(s, ctx)
      return s
    } else apply(s, message, eventsOf(message.events), ctx)
    publishLive(s, ctx)
    return s
  },
  drain: (s) => {
    if (s.grid.size === 0) return []
    const { cells, elements } = s.grid.drain()
    const out: PageRecord[] = []
    for (const c of cells) {
      const d = c.dims
      out.push([
        'c',
        [
          s.siteId,
          s.page,
          d.type as HeatmapType,
          d.viewport as ViewportClass,
          d.device,
          d.country,
          d.hour,
          c.x,
          c.y,
          c.count,
        ],
      ])
    }
    for (const { dims: d, counts: n } of elements) {
      out.push([
        'e',
        [
          s.siteId,
          s.page,
          d.selector,
          d.viewport,
          d.device,
          d.country,
          d.hour,
          d.offX,
          d.offY,
          n.clicks,
          n.rage,
          n.rageClicks,
          n.dead,
        ],
      ])
    }
    return out
  },
  ask: (s, request) => {
    const r = request as PageAskCells
    if (r.kind !== 'cells') return undefined
    return s.grid.peek(
      (d) =>
        d.type === r.type &&
        (r.viewport === undefined || d.viewport === r.viewport) &&
        (r.device === undefined || d.device === r.device) &&
        (r.country === undefined || d.country === r.country) &&
        (r.fromHour === undefined || d.hour >= r.fromHour) &&
        (r.toHour === undefined || d.hour < r.toHour),
    )
  },
})
