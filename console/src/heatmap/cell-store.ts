import { HeatmapError } from './errors.ts'
import type { HeatmapCell } from './types.ts'

/** Bands beyond this would make `band * xCells + column` lose integer precision on very wide grids. */
const MAX_BAND = 1e9
const MAX_COLUMNS = 1 << 16

/** A typed array of at least `needed` elements: `a` itself when it is big enough, else one twice as big. */
function grown<T extends Float64Array | Float32Array | Uint32Array>(
  a: T,
  needed: number,
  make: (n: number) => T,
): T {
  if (a.length >= needed) return a
  const b = make(Math.max(needed, a.length * 2, 256))
  b.set(a)
  return b
}

function check(cells: ReadonlyArray<HeatmapCell>, xCells: number): void {
  for (let i = 0; i < cells.length; i++) {
    const [x, y, n] = cells[i]!
    if (
      !Number.isInteger(x) ||
      x < 0 ||
      x >= xCells ||
      !Number.isInteger(y) ||
      Math.abs(y) > MAX_BAND ||
      !Number.isFinite(n)
    )
      throw new HeatmapError(
        'HM_ERR_HEATMAP_BAD_CELL',
        `cell ${i} is [${x}, ${y}, ${n}]; columns are 0..${xCells - 1}, bands and counts must be numbers`,
      )
  }
}

/**
 * The grid on the CPU side: counts by cell key (`band * xCells + column`, which sorts cells by band, then
 * column), and the same cells in key order, packed for the GPU. Cells never move from their slot, so a
 * live increment is a map lookup; new cells are merged into the key order on the next `sync`.
 */
export class CellStore {
  xCells = 1
  yBandPx = 16
  /** Bumped by every change; `sync` rebuilds the sorted arrays when it has moved. */
  version = 0

  /** In key order: column, band, count per cell (the GPU's instance data). */
  packed: Float32Array = new Float32Array(0)
  /** In key order: the cell keys, for range searches. */
  sortedKeys: Float64Array = new Float64Array(0)
  /** In key order: the counts, at full precision (for the peak). */
  sortedCounts: Float64Array = new Float64Array(0)

  private readonly slotOf = new Map<number, number>()
  private keys: Float64Array = new Float64Array(0)
  private counts: Float64Array = new Float64Array(0)
  /** Slots in key order; the first `merged` are sorted, the rest are new since the last sync. */
  private order: Uint32Array = new Uint32Array(0)
  private scratch: Uint32Array = new Uint32Array(0)
  private size = 0
  private merged = 0
  private synced = -1
  private readonly byKey = (a: number, b: number): number => this.keys[a]! - this.keys[b]!

  get length(): number {
    return this.size
  }

  /** Replaces everything with a grid of `xCells` columns and `yBandPx` px bands; a bad grid changes nothing. */
  replace(xCells: number, yBandPx: number, cells: ReadonlyArray<HeatmapCell>): void {
    if (!Number.isInteger(xCells) || xCells < 1 || xCells > MAX_COLUMNS)
      throw new HeatmapError(
        'HM_ERR_HEATMAP_BAD_GRID',
        `xCells must be an integer in 1..${MAX_COLUMNS}, not ${xCells}`,
      )
    if (!(Number.isFinite(yBandPx) && yBandPx > 0))
      throw new HeatmapError('HM_ERR_HEATMAP_BAD_GRID', `yBandPx must be a positive number, not ${yBandPx}`)
    check(cells, xCells)
    this.xCells = xCells
    this.yBandPx = yBandPx
    this.slotOf.clear()
    this.size = 0
    this.merged = 0
    this.apply(cells)
  }

  /** Adds the counts of `cells` (a new cell starts at 0); a bad batch changes nothing. */
  add(cells: ReadonlyArray<HeatmapCell>): void {
    check(cells, this.xCells)
    if (cells.length > 0) this.apply(cells)
  }

  private apply(cells: ReadonlyArray<HeatmapCell>): void {
    const xCells = this.xCells
    for (const [x, y, n] of cells) {
      const key = y * xCells + x
      const slot = this.slotOf.get(key)
      if (slot !== undefined) {
        this.counts[slot] = this.counts[slot]! + n
        continue
      }
      if (this.size === this.keys.length) {
        this.keys = grown(this.keys, this.size + 1, (l) => new Float64Array(l))
        this.counts = grown(this.counts, this.size + 1, (l) => new Float64Array(l))
      }
      this.keys[this.size] = key
      this.counts[this.size] = n
      this.slotOf.set(key, this.size++)
    }
    this.version++
  }

  /** The count of a cell, 0 where there is none. */
  count(x: number, y: number): number {
    if (x < 0 || x >= this.xCells) return 0
    const slot = this.slotOf.get(y * this.xCells + x)
    return slot === undefined ? 0 : this.counts[slot]!
  }

  /** Brings the sorted arrays up to date; true when they changed. */
  sync(): boolean {
    if (this.synced === this.version) return false
    this.synced = this.version
    this.mergeNew()
    const n = this.size
    this.packed = grown(this.packed, n * 3, (l) => new Float32Array(l))
    this.sortedKeys = grown(this.sortedKeys, n, (l) => new Float64Array(l))
    this.sortedCounts = grown(this.sortedCounts, n, (l) => new Float64Array(l))
    const { order, keys, counts, packed, sortedKeys, sortedCounts, xCells } = this
    for (let i = 0; i < n; i++) {
      const slot = order[i]!
      const key = keys[slot]!
      const band = Math.floor(key / xCells)
      sortedKeys[i] = key
      sortedCounts[i] = counts[slot]!
      packed[i * 3] = key - band * xCells
      packed[i * 3 + 1] = band
      packed[i * 3 + 2] = counts[slot]!
    }
    return true
  }

  /** Index (in key order, after `sync`) of the first cell whose key is at least `key`. */
  lowerBound(key: number): number {
    let lo = 0
    let hi = this.size
    const keys = this.sortedKeys
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (keys[mid]! < key) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  /** Sorts the slots added since the last sync and merges them into the key order, in O(n + k log k). */
  private mergeNew(): void {
    const n = this.merged
    const total = this.size
    if (total === n) return
    this.order = grown(this.order, total, (l) => new Uint32Array(l))
    const order = this.order
    for (let s = n; s < total; s++) order[s] = s
    order.subarray(n, total).sort(this.byKey)
    if (n > 0 && this.keys[order[n - 1]!]! > this.keys[order[n]!]!) {
      // Merge from the back, the new run copied aside so nothing is overwritten before it is read.
      const k = total - n
      this.scratch = grown(this.scratch, k, (l) => new Uint32Array(l))
      const fresh = this.scratch
      fresh.set(order.subarray(n, total))
      const keys = this.keys
      let i = n - 1
      let j = k - 1
      for (let w = total - 1; j >= 0; w--) {
        if (i >= 0 && keys[order[i]!]! > keys[fresh[j]!]!) order[w] = order[i--]!
        else order[w] = fresh[j--]!
      }
    }
    this.merged = total
  }
}
