/**
 * The heatmap renderer's error codes. They never reach an HTTP client; the console shows the message
 * where the heatmap would be.
 */
export const heatmapErrors = {
  HM_ERR_HEATMAP_NO_WEBGL2: 'this browser gives the heatmap canvas no WebGL2 context',
  HM_ERR_HEATMAP_NO_FLOAT_BUFFER: 'the GPU cannot render into a floating point buffer',
  HM_ERR_HEATMAP_SHADER: 'a heatmap shader did not compile or link',
  HM_ERR_HEATMAP_BAD_GRID: 'the grid is invalid',
  HM_ERR_HEATMAP_BAD_CELL: 'a cell is outside the grid or its count is not a number',
  HM_ERR_HEATMAP_BAD_VIEW: 'the view is invalid',
  HM_ERR_HEATMAP_BAD_STYLE: 'the style is invalid',
  HM_ERR_HEATMAP_EXPORT: 'the canvas could not be encoded as a PNG',
  HM_ERR_HEATMAP_CONTEXT_LOST: 'the WebGL context is lost; it is rebuilt when the browser restores it',
  HM_ERR_HEATMAP_DESTROYED: 'the heatmap renderer was destroyed',
} as const satisfies Record<string, string>

export type HeatmapErrorCode = keyof typeof heatmapErrors

/** An error of the heatmap renderer: its code and a message naming what was wrong. */
export class HeatmapError extends Error {
  readonly code: HeatmapErrorCode
  constructor(code: HeatmapErrorCode, detail?: string) {
    super(detail ? `${heatmapErrors[code]}: ${detail}` : heatmapErrors[code])
    this.name = 'HeatmapError'
    this.code = code
  }
}
