import type { CellStore } from './cell-store.ts'
import type { HeatmapView } from './types.ts'

/** A splat reaches this many sigmas from its centre and adds nothing beyond. */
export const REACH = 3
/** The gaussian's value at the reach, taken off so a splat fades to exactly 0 there instead of ending in a step. */
export const KERNEL_FLOOR = Math.exp(-(REACH * REACH) / 2)

/**
 * The splat kernel at squared distance `d2` (in sigmas): 1 at the centre, 0 at the reach. It peaks at 1
 * so the summed field is in the units of the counts: where a cell stands alone, the field at its centre
 * is its count. The splat shader computes the same function.
 */
export function kernel(d2: number): number {
  return d2 >= REACH * REACH ? 0 : (Math.exp(-d2 / 2) - KERNEL_FLOOR) / (1 - KERNEL_FLOOR)
}

/** Where the cells land on the canvas, in CSS px. */
export interface Layout {
  /** CSS px per document px. */
  scale: number
  /** Spacing of the columns and the bands. */
  colCss: number
  bandCss: number
  /** The kernel's sigma across and down. */
  sigmaX: number
  sigmaY: number
  /** One column: every cell is a full-width band. */
  fullWidth: boolean
  /**
   * What one count adds up to where splats overlap, divided out of the field: 1 for the splats of points
   * (a lone cell's centre reads its count), the kernel summed over the rows one splat reaches for
   * full-width bands (rows of a curve, such as scroll depth: a run of rows of one value reads that value,
   * not the overlap of their splats).
   */
  norm: number
}

/**
 * Fills `out` for a grid seen through `view` with splats of `radius` CSS px. A band grid gets at least
 * half a band of sigma down the page, so consecutive bands blend into one smooth curve instead of stripes.
 */
export function fillLayout(
  out: Layout,
  xCells: number,
  yBandPx: number,
  view: HeatmapView,
  radius: number,
): Layout {
  out.scale = view.cssWidth / view.documentWidth
  out.colCss = view.cssWidth / xCells
  out.bandCss = yBandPx * out.scale
  out.fullWidth = xCells === 1
  out.sigmaX = radius / REACH
  out.sigmaY = out.fullWidth ? Math.max(out.sigmaX, out.bandCss / 2) : out.sigmaX
  out.norm = 1
  if (out.fullWidth) {
    const reach = Math.min(Math.ceil((REACH * out.sigmaY) / out.bandCss), 1 << 20)
    let sum = 0
    for (let j = -reach; j <= reach; j++) {
      const d = (j * out.bandCss) / out.sigmaY
      sum += kernel(d * d)
    }
    out.norm = sum
  }
  return out
}

/**
 * The highest value of the summed field (its highest absolute value when `signed`), taken at the cell
 * centres on the CPU from the counts and the same kernel the GPU splats with. A reduction on the GPU would
 * see only the cells in view, and the scale would change while scrolling; this one holds for the whole
 * page and is recomputed only when the cells, the radius or the width change. Where splats overlap, the
 * field can rise a little higher between two centres than on either (by at most about a tenth, for two
 * equal cells one sigma apart); those few pixels take the hottest colour.
 */
export function fieldPeak(store: CellStore, layout: Layout, signed: boolean): number {
  const n = store.length
  if (n === 0) return 0
  const xCells = store.xCells
  const keys = store.sortedKeys
  const counts = store.sortedCounts
  const reachBands = Math.min(Math.ceil((REACH * layout.sigmaY) / layout.bandCss), 1 << 20)
  const reachCols = layout.fullWidth
    ? 0
    : Math.min(Math.ceil((REACH * layout.sigmaX) / layout.colCss), xCells)
  const rows = 2 * reachBands + 1
  const cols = 2 * reachCols + 1
  // The kernel at every whole (column, band) offset, and for each band offset a cursor into the sorted
  // cells: the windows of successive cells only move forward, so the whole pass is linear.
  const weights = new Float64Array(rows * cols)
  for (let r = 0; r < rows; r++) {
    const dy = ((r - reachBands) * layout.bandCss) / layout.sigmaY
    for (let c = 0; c < cols; c++) {
      const dx = layout.fullWidth ? 0 : ((c - reachCols) * layout.colCss) / layout.sigmaX
      weights[r * cols + c] = kernel(dx * dx + dy * dy)
    }
  }
  const cursors = new Int32Array(rows)
  let peak = 0
  for (let i = 0; i < n; i++) {
    const key = keys[i]!
    const band = Math.floor(key / xCells)
    const col = key - band * xCells
    const first = Math.max(0, col - reachCols)
    const last = Math.min(xCells - 1, col + reachCols)
    let sum = 0
    for (let r = 0; r < rows; r++) {
      const row = (band + r - reachBands) * xCells
      const lo = row + first
      const hi = row + last
      let p = cursors[r]!
      while (p < n && keys[p]! < lo) p++
      cursors[r] = p
      for (let q = p; q < n && keys[q]! <= hi; q++) {
        sum += counts[q]! * weights[r * cols + (keys[q]! - row - col + reachCols)]!
      }
    }
    const v = (signed ? Math.abs(sum) : sum) / layout.norm
    if (v > peak) peak = v
  }
  return peak
}
