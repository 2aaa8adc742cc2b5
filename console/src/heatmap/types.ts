/** One cell of a heatmap grid: `[column, band, count]`, as the query API and the live stream send it. */
export type HeatmapCell = readonly [number, number, number]

/**
 * A page's grid as `GET /v1/sites/<id>/heatmap` returns it: `xCells` columns across the document width and
 * bands of `yBandPx` document pixels. A grid with one column (scroll depth, attention) is drawn as
 * full-width bands.
 */
export interface HeatmapGrid {
  xCells: number
  yBandPx: number
  cells: ReadonlyArray<HeatmapCell>
}

/**
 * Where the canvas looks at the document. The document (`documentWidth` px wide) is shown scaled by
 * `cssWidth / documentWidth` on both axes, so a column's centre lands at `(x + 0.5) / xCells * cssWidth`
 * and a band's at `((y + 0.5) * yBandPx - scrollY) * cssWidth / documentWidth` CSS px. `scrollY` is the
 * document's own scroll offset (document px). With the page shown at its own width the scale is 1 and
 * every length is plain CSS px.
 */
export interface HeatmapView {
  cssWidth: number
  cssHeight: number
  scrollY: number
  documentWidth: number
}

/**
 * How the field is drawn. `radius`: how far one cell's splat reaches, in CSS px (the gaussian's sigma is a
 * third of it). `intensity`: scales the field before colouring (2 reaches the hottest colour at half the
 * peak). `opacity`: multiplies the alpha of every pixel, 0..1. `ramp`: `heat` for counts (0 transparent,
 * then blue, green, yellow, red), `diverging` for differences (negative blue, 0 transparent, positive red).
 */
export interface HeatmapStyle {
  radius: number
  intensity: number
  opacity: number
  ramp: 'heat' | 'diverging'
  /**
   * The field value the ramp spans (the hottest colour at intensity 1; for `diverging`, ± this value)
   * in place of the field's own peak. Maps given the same scale draw the same value in the same colour,
   * as the two sides of a comparison must. Undefined, the default: the field's peak.
   */
  scale?: number | undefined
}

/** A legend stop: the count that is drawn in `color` (a CSS `rgba()` colour, opacity included). */
export interface HeatmapLegendStop {
  value: number
  color: string
}

/**
 * The colour scale in the units of the counts. `max` is the count drawn in the hottest colour (for
 * `diverging`, `-max` is drawn in the coldest); `peak` is the highest value of the field itself (see
 * `HeatmapRenderer`), equal to `max` at intensity 1 unless the style sets a `scale`. Both are 0 for an
 * empty grid without a scale.
 */
export interface HeatmapLegend {
  max: number
  peak: number
  stops: Array<HeatmapLegendStop>
}

/** The float formats the splat buffer can use, best first. */
export type FieldFormat = 'R32F' | 'R16F' | 'RGBA16F'

/** What the last frame cost, for a debug panel and for the tests that keep the renderer honest. */
export interface HeatmapStats {
  /** Cells held. */
  cells: number
  /** Cells splatted in the last frame (those in view, plus a splat's reach). */
  drawn: number
  /** Uploads of the cell buffer to the GPU (one per change of the grid, none for a scroll). */
  uploads: number
  /** (Re)allocations of the GPU cell buffer; it grows geometrically. */
  allocations: number
  /** Format of the splat buffer in use. */
  format: FieldFormat | undefined
  /** Size of the drawing buffer, device px. */
  width: number
  height: number
}
