/** Grid math shared by the actors, the queries and the exports. */

/** Columns across the document width: x is kept relative, so one grid serves every layout width. */
export const X_CELLS = 128
/** Height of a row in document pixels. */
export const Y_BAND_PX = 16
/** Deepest row kept: 1,000,000 px of document. */
export const MAX_Y_CELL = Math.floor(1_000_000 / Y_BAND_PX)

export const viewportClasses = ['mobile', 'tablet', 'desktop'] as const
export type ViewportClass = (typeof viewportClasses)[number]

export const heatmapTypes = ['click', 'move', 'scroll', 'attention', 'rage', 'dead', 'pageview'] as const
export type HeatmapType = (typeof heatmapTypes)[number]

/** Offsets inside a clicked element are kept in this many steps per axis (6.25 % each). */
export const ELEMENT_OFFSET_CELLS = 16
/** The offset cell of element records whose offset is not known (rage and dead clicks, old SDKs). */
export const NO_OFFSET = 255

export function viewportClass(viewportWidth: number): ViewportClass {
  if (viewportWidth < 768) return 'mobile'
  if (viewportWidth < 1024) return 'tablet'
  return 'desktop'
}

export function cellX(x: number, documentWidth: number): number {
  const c = Math.floor((x / Math.max(1, documentWidth)) * X_CELLS)
  return Math.min(X_CELLS - 1, Math.max(0, c))
}

export function cellY(y: number): number {
  return Math.min(MAX_Y_CELL, Math.max(0, Math.floor(y / Y_BAND_PX)))
}

/**
 * The deepest band a viewport bottom at `depth` px has shown: pixels `[0, depth)` were visible, so a
 * depth of exactly 16 px reached band 0 only.
 */
export function depthBand(depth: number, documentHeight: number): number {
  const d = Math.min(depth, documentHeight)
  return d <= 0 ? 0 : cellY(d - 1)
}

/** The offset cell of a share `0..1` of an element's width or height. */
export function offsetCell(share: number | undefined): number {
  if (share === undefined || !Number.isFinite(share)) return NO_OFFSET
  return Math.min(ELEMENT_OFFSET_CELLS - 1, Math.max(0, Math.floor(share * ELEMENT_OFFSET_CELLS)))
}

/** Start of the UTC hour of `ts` (ms), in seconds: the time bucket of the cells. */
export function hourOf(ts: number): number {
  return Math.floor(ts / 3_600_000) * 3600
}
