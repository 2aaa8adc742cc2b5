/**
 * The console's heatmap renderer: a page's grid drawn on a canvas with WebGL2 (twgl.js), for the heatmap
 * viewer, live mode and the compare view. Plain TypeScript, no framework: the app owns the canvas and
 * tells the renderer what to draw and when.
 */
export { HeatmapError, type HeatmapErrorCode, heatmapErrors } from './errors.ts'
export { HeatmapRenderer } from './renderer.ts'
export type {
  FieldFormat,
  HeatmapCell,
  HeatmapGrid,
  HeatmapLegend,
  HeatmapLegendStop,
  HeatmapStats,
  HeatmapStyle,
  HeatmapView,
} from './types.ts'
