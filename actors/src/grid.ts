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

/** Start of the UTC hour of `ts` (ms), in seconds: the time bucket of the cells. */
export function hourOf(ts: number): number {
  return Math.floor(ts / 3_600_000) * 3600
}
