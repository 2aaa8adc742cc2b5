import { packedMap } from '@hm/runtime'
import { NO_OFFSET, X_CELLS } from './grid.ts'

/** What a heatmap count is kept apart by, besides its cell. */
export interface CellDims {
  type: string
  viewport: string
  device: string
  country: string
  /** Start of the UTC hour, in seconds. */
  hour: number
}

/** Click aggregates of one element (CSS selector), by where inside it the clicks landed. */
export interface ElementDims {
  viewport: string
  device: string
  country: string
  hour: number
  selector: string
  /** Offset cell inside the element, `NO_OFFSET` when unknown. */
  offX: number
  offY: number
}

export interface ElementCounts {
  clicks: number
  /** Rage bursts on the element, and the clicks those bursts held. */
  rage: number
  rageClicks: number
  dead: number
}

interface Segment {
  dims: CellDims
  /** Count by `y * X_CELLS + x`: only touched cells cost memory, whatever the document height. */
  cells: Map<number, number>
}

export interface ElementEntry {
  dims: ElementDims
  counts: ElementCounts
}

/** Spatial coarsening stops at blocks of 2^4 = 16 cells (1/8 of the width, 256 px); then hours fold to days. */
const MAX_SPATIAL_LEVEL = 4
const FOLD_HOURS_LEVEL = MAX_SPATIAL_LEVEL + 1

const cellKey = (d: CellDims): string => `${d.type}|${d.viewport}|${d.device}|${d.country}|${d.hour}`
const sameDims = (a: CellDims, b: CellDims): boolean =>
  a.hour === b.hour &&
  a.type === b.type &&
  a.viewport === b.viewport &&
  a.device === b.device &&
  a.country === b.country
const elementKey = (d: ElementDims): string =>
  `${d.viewport}|${d.device}|${d.country}|${d.hour}|${d.offX}|${d.offY}|${d.selector}`

/**
 * The counts a heatmap actor has not flushed yet: sparse (a map per segment of touched cells only, so a
 * 50,000 px page costs what its visitors touched, not 3,125 rows), and capped.
 *
 * Over the cap nothing is dropped: the grid coarsens. Each level snaps cells to blocks twice as large
 * (counts add up in the block's top-left cell) and forgets click offsets inside elements; past 16-cell
 * blocks, hours fold into their UTC day. Every count survives with its type, viewport, device, country
 * and element, only its position (or hour) gets coarser, and only until the next flush — which resets
 * the level. An early flush would avoid even that; the runtime has no way for an actor to ask for one
 * yet (see `requestFlush` in the issue note). Memory past the last level is bounded by the dimensions
 * alone (types × viewports × devices × countries × days × 2 × 3,907 blocks).
 */
export class PendingGrid {
  private segments = new Map<string, Segment>()
  /** The segment the last count went to: a batch's events mostly share their dimensions. */
  private last: Segment | undefined
  private elements = new Map<string, ElementEntry>()
  private entries = 0
  /** Current coarsening level: 0 = full resolution. */
  level = 0
  /** How often this grid had to coarsen (a health signal: the flush interval is too long for the load). */
  coarsenings = 0

  constructor(private readonly maxEntries: number) {}

  /** Cells and element records held. */
  get size(): number {
    return this.entries
  }

  addCell(dims: CellDims, x: number, y: number, by: number): void {
    if (by === 0) return
    this.put(this.level >= FOLD_HOURS_LEVEL ? { ...dims, hour: dayOf(dims.hour) } : dims, x, y, by)
    this.checkCap()
  }

  addElement(dims: ElementDims, counts: Partial<ElementCounts>): void {
    let d = dims
    if (this.level >= 1 && (d.offX !== NO_OFFSET || d.offY !== NO_OFFSET))
      d = { ...d, offX: NO_OFFSET, offY: NO_OFFSET }
    if (this.level >= FOLD_HOURS_LEVEL) d = { ...d, hour: dayOf(d.hour) }
    this.putElement(d, counts)
    this.checkCap()
  }

  /** Hands out everything held and starts again empty at full resolution. */
  drain(): {
    cells: Array<{ dims: CellDims; x: number; y: number; count: number }>
    elements: ElementEntry[]
  } {
    const cells: Array<{ dims: CellDims; x: number; y: number; count: number }> = []
    for (const s of this.segments.values()) {
      for (const [i, count] of s.cells)
        cells.push({ dims: s.dims, x: i % X_CELLS, y: Math.floor(i / X_CELLS), count })
    }
    const elements = [...this.elements.values()]
    this.segments = new Map()
    this.last = undefined
    this.elements = new Map()
    this.entries = 0
    this.level = 0
    return { cells, elements }
  }

  /** Counts by cell (`[x, y, count]`) over the segments `keep` selects, without draining them. */
  peek(keep: (dims: CellDims) => boolean): Array<[number, number, number]> {
    const sum = new Map<number, number>()
    for (const s of this.segments.values()) {
      if (!keep(s.dims)) continue
      for (const [i, n] of s.cells) sum.set(i, (sum.get(i) ?? 0) + n)
    }
    return packedMap([...sum], ([i, n]) => [i % X_CELLS, Math.floor(i / X_CELLS), n])
  }

  private put(dims: CellDims, x: number, y: number, by: number): void {
    let s = this.last
    if (s === undefined || !sameDims(s.dims, dims)) {
      const k = cellKey(dims)
      s = this.segments.get(k)
      if (s === undefined) {
        s = { dims, cells: new Map() }
        this.segments.set(k, s)
      }
      this.last = s
    }
    const mask = this.level === 0 ? -1 : ~((1 << Math.min(this.level, MAX_SPATIAL_LEVEL)) - 1)
    const i = (y & mask) * X_CELLS + (x & mask)
    const before = s.cells.get(i)
    if (before === undefined) this.entries++
    s.cells.set(i, (before ?? 0) + by)
  }

  private putElement(dims: ElementDims, counts: Partial<ElementCounts>): void {
    const k = elementKey(dims)
    let e = this.elements.get(k)
    if (e === undefined) {
      e = { dims, counts: { clicks: 0, rage: 0, rageClicks: 0, dead: 0 } }
      this.elements.set(k, e)
      this.entries++
    }
    e.counts.clicks += counts.clicks ?? 0
    e.counts.rage += counts.rage ?? 0
    e.counts.rageClicks += counts.rageClicks ?? 0
    e.counts.dead += counts.dead ?? 0
  }

  private checkCap(): void {
    while (this.entries > this.maxEntries && this.level < FOLD_HOURS_LEVEL) this.coarsen()
  }

  /** One level coarser: re-adds everything held into the coarser grid. */
  private coarsen(): void {
    this.level++
    this.coarsenings++
    const segments = this.segments
    const elements = this.elements
    this.segments = new Map()
    this.last = undefined
    this.elements = new Map()
    this.entries = 0
    const fold = this.level >= FOLD_HOURS_LEVEL
    for (const s of segments.values()) {
      const dims = fold ? { ...s.dims, hour: dayOf(s.dims.hour) } : s.dims
      for (const [i, count] of s.cells) this.put(dims, i % X_CELLS, Math.floor(i / X_CELLS), count)
    }
    for (const e of elements.values()) {
      const dims = {
        ...e.dims,
        offX: NO_OFFSET,
        offY: NO_OFFSET,
        hour: fold ? dayOf(e.dims.hour) : e.dims.hour,
      }
      this.putElement(dims, e.counts)
    }
  }
}

function dayOf(hourS: number): number {
  return Math.floor(hourS / 86_400) * 86_400
}
