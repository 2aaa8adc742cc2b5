import { bindFramebufferInfo, setUniforms } from 'twgl.js'
import { CellStore } from './cell-store.ts'
import { HeatmapError } from './errors.ts'
import { createGpu, destroyGpu, type Gpu, reserveCells, resizeField } from './gpu.ts'
import { fieldPeak, fillLayout, type Layout, REACH } from './kernel.ts'
import { legendOf } from './ramp.ts'
import { CELL_LOCATION } from './shaders.ts'
import type {
  HeatmapCell,
  HeatmapGrid,
  HeatmapLegend,
  HeatmapStats,
  HeatmapStyle,
  HeatmapView,
} from './types.ts'

const DEFAULT_STYLE: HeatmapStyle = { radius: 20, intensity: 1, opacity: 0.8, ramp: 'heat' }

/**
 * Draws a heatmap grid on a canvas with WebGL2, in two passes: every cell in view is added into a float
 * buffer as a gaussian splat weighted by its count (instanced quads, additive blending), then one pass
 * over the canvas colours the summed field through a ramp texture. The field is scaled by its peak over
 * the whole page (see `legend()`), worked out on the CPU, so colours hold still while the view scrolls.
 *
 * The renderer draws when told (`render()`); the caller decides when, usually once per animation frame
 * after a change. It sizes the canvas (CSS size from the view, drawing buffer times devicePixelRatio) and
 * survives a lost WebGL context: it rebuilds when the browser restores it and redraws if it had drawn.
 *
 * @example
 * ```ts
 * const heatmap = new HeatmapRenderer(canvas)
 * heatmap.setGrid(await (await fetch(`/v1/sites/${siteId}/heatmap?page=/pricing&type=click`)).json())
 * heatmap.setView({ cssWidth: 1280, cssHeight: 800, scrollY: 0, documentWidth: 1280 })
 * heatmap.setStyle({ radius: 24, opacity: 0.7 })
 * heatmap.render()
 * socket.onmessage = (m) => { heatmap.addDelta(JSON.parse(m.data).cells); requestAnimationFrame(() => heatmap.render()) }
 * ```
 */
export class HeatmapRenderer {
  readonly canvas: HTMLCanvasElement
  private readonly gl: WebGL2RenderingContext
  private gpu: Gpu | undefined
  /** An error met while rebuilding after a context loss, thrown by the next call. */
  private failure: unknown
  private destroyed = false
  private rendered = false

  private readonly store = new CellStore()
  private readonly view: HeatmapView
  private readonly style: HeatmapStyle = { ...DEFAULT_STYLE }
  private readonly layout: Layout = {
    scale: 1,
    colCss: 1,
    bandCss: 1,
    sigmaX: 1,
    sigmaY: 1,
    fullWidth: false,
    norm: 1,
  }
  private styledWidth = -1
  private styledHeight = -1

  // The peak and what it was computed for.
  private peak = 0
  private peakVersion = -1
  private peakRadius = Number.NaN
  private peakWidth = Number.NaN
  private peakDocumentWidth = Number.NaN
  private peakSigned = false

  private uploaded = -1
  private drawn = 0
  private uploads = 0
  private allocations = 0

  // Uniform values are kept and refilled, so a frame allocates nothing.
  private readonly splatUniforms = {
    u_view: new Float32Array(2),
    u_spacing: new Float32Array(2),
    u_scroll: 0,
    u_sigma: new Float32Array(2),
    u_fullWidth: 0,
    u_weight: 0,
  }
  private readonly resolveUniforms: Record<string, WebGLTexture | number | undefined> = {
    u_field: undefined,
    u_ramp: undefined,
    u_intensity: 1,
    u_opacity: 1,
    u_diverging: 0,
  }

  private readonly onLost = (e: Event): void => {
    // Without preventDefault the browser never restores the context.
    e.preventDefault()
    this.gpu = undefined
  }

  private readonly onRestored = (): void => {
    try {
      this.gpu = createGpu(this.gl, this.canvas.width, this.canvas.height)
      this.uploaded = -1
      if (this.rendered) this.render()
    } catch (e) {
      this.failure = e
    }
  }

  constructor(canvas: HTMLCanvasElement) {
    const gl = canvas.getContext('webgl2', {
      alpha: true,
      premultipliedAlpha: true,
      antialias: false,
      depth: false,
      stencil: false,
      preserveDrawingBuffer: false,
    })
    if (gl === null) throw new HeatmapError('HM_ERR_HEATMAP_NO_WEBGL2')
    this.canvas = canvas
    this.gl = gl
    const cssWidth = canvas.clientWidth || canvas.width
    this.view = {
      cssWidth,
      cssHeight: canvas.clientHeight || canvas.height,
      scrollY: 0,
      documentWidth: cssWidth,
    }
    const dpr = this.devicePixelRatio()
    this.gpu = createGpu(
      gl,
      Math.max(1, Math.round(cssWidth * dpr)),
      Math.max(1, Math.round(this.view.cssHeight * dpr)),
    )
    canvas.addEventListener('webglcontextlost', this.onLost)
    canvas.addEventListener('webglcontextrestored', this.onRestored)
  }

  /** Replaces the grid. */
  setGrid(grid: HeatmapGrid): void {
    this.alive()
    this.store.replace(grid.xCells, grid.yBandPx, grid.cells)
  }

  /** Adds live increments (or, on a difference grid, decrements) to cells of the current grid. */
  addDelta(cells: ReadonlyArray<HeatmapCell>): void {
    this.alive()
    this.store.add(cells)
  }

  /** Sets the part of the document the canvas shows, and the canvas's CSS size (see `HeatmapView`). */
  setView(view: HeatmapView): void {
    this.alive()
    const { cssWidth, cssHeight, scrollY, documentWidth } = view
    const bad = !(Number.isFinite(cssWidth) && cssWidth >= 0)
      ? `cssWidth ${cssWidth}`
      : !(Number.isFinite(cssHeight) && cssHeight >= 0)
        ? `cssHeight ${cssHeight}`
        : !Number.isFinite(scrollY)
          ? `scrollY ${scrollY}`
          : !(Number.isFinite(documentWidth) && documentWidth > 0)
            ? `documentWidth ${documentWidth}`
            : undefined
    if (bad !== undefined) throw new HeatmapError('HM_ERR_HEATMAP_BAD_VIEW', bad)
    this.view.cssWidth = cssWidth
    this.view.cssHeight = cssHeight
    this.view.scrollY = scrollY
    this.view.documentWidth = documentWidth
  }

  /**
   * Changes some of the style; the rest stays (defaults: radius 20, intensity 1, opacity 0.8, heat, the
   * field's own peak as the scale). `scale: undefined` goes back to the field's peak.
   */
  setStyle(style: Partial<HeatmapStyle>): void {
    this.alive()
    const next = { ...this.style, ...style }
    const bad = !(Number.isFinite(next.radius) && next.radius > 0)
      ? `radius ${next.radius}`
      : !(Number.isFinite(next.intensity) && next.intensity > 0)
        ? `intensity ${next.intensity}`
        : !(next.opacity >= 0 && next.opacity <= 1)
          ? `opacity ${next.opacity} (0..1)`
          : next.ramp !== 'heat' && next.ramp !== 'diverging'
            ? `ramp ${String(next.ramp)}`
            : next.scale !== undefined && !(Number.isFinite(next.scale) && next.scale > 0)
              ? `scale ${next.scale}`
              : undefined
    if (bad !== undefined) throw new HeatmapError('HM_ERR_HEATMAP_BAD_STYLE', bad)
    Object.assign(this.style, next)
  }

  /** Draws the current grid, view and style. Does nothing while the context is lost. */
  render(): void {
    this.alive()
    const gl = this.gl
    const gpu = this.gpu
    if (gpu === undefined || gl.isContextLost()) return
    this.rendered = true
    this.fitCanvas()
    const { width, height } = this.canvas
    if (gpu.field.width !== width || gpu.field.height !== height) resizeField(gl, gpu, width, height)
    const store = this.store
    const peak = this.currentPeak()
    // What the ramp spans: the field's own peak, or a scale shared with another map.
    const span = this.style.scale ?? peak
    if (this.uploaded !== store.version) {
      if (reserveCells(gl, gpu, store.length)) this.allocations++
      gl.bindBuffer(gl.ARRAY_BUFFER, gpu.cells)
      gl.bufferSubData(gl.ARRAY_BUFFER, 0, store.packed, 0, store.length * 3)
      this.uploaded = store.version
      this.uploads++
    }

    // Pass 1: the field.
    bindFramebufferInfo(gl, gpu.field)
    gl.clearColor(0, 0, 0, 0)
    gl.clear(gl.COLOR_BUFFER_BIT)
    this.drawn = 0
    const { view, layout } = this
    if (peak > 0 && view.cssWidth > 0 && view.cssHeight > 0) {
      // Cells whose splat can reach the view: centres within the view plus the reach, in document px.
      const reach = (REACH * layout.sigmaY) / layout.scale
      const top = view.scrollY - reach
      const bottom = view.scrollY + view.cssHeight / layout.scale + reach
      const firstBand = Math.floor(top / store.yBandPx - 0.5) - 1
      const lastBand = Math.ceil(bottom / store.yBandPx - 0.5) + 1
      const first = store.lowerBound(firstBand * store.xCells)
      const end = store.lowerBound((lastBand + 1) * store.xCells)
      if (end > first) {
        const u = this.splatUniforms
        u.u_view[0] = view.cssWidth
        u.u_view[1] = view.cssHeight
        u.u_spacing[0] = layout.colCss
        u.u_spacing[1] = layout.bandCss
        u.u_scroll = view.scrollY * layout.scale
        u.u_sigma[0] = layout.sigmaX
        u.u_sigma[1] = layout.sigmaY
        u.u_fullWidth = layout.fullWidth ? 1 : 0
        u.u_weight = 1 / (span * layout.norm)
        gl.useProgram(gpu.splat.program)
        setUniforms(gpu.splat, u)
        gl.bindVertexArray(gpu.splatVao)
        // No base instance in WebGL2: the cell attribute starts at the first visible cell instead.
        gl.bindBuffer(gl.ARRAY_BUFFER, gpu.cells)
        gl.vertexAttribPointer(CELL_LOCATION, 3, gl.FLOAT, false, 12, first * 12)
        gl.enable(gl.BLEND)
        gl.blendEquation(gl.FUNC_ADD)
        gl.blendFunc(gl.ONE, gl.ONE)
        gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, end - first)
        gl.disable(gl.BLEND)
        this.drawn = end - first
      }
    }

    // Pass 2: the field through the ramp, onto the canvas.
    bindFramebufferInfo(gl, null)
    const r = this.resolveUniforms
    r.u_field = gpu.field.attachments[0]
    r.u_ramp = gpu.ramps[this.style.ramp]
    r.u_intensity = this.style.intensity
    r.u_opacity = this.style.opacity
    r.u_diverging = this.style.ramp === 'diverging' ? 1 : 0
    gl.useProgram(gpu.resolve.program)
    setUniforms(gpu.resolve, r)
    gl.bindVertexArray(gpu.resolveVao)
    gl.drawArrays(gl.TRIANGLES, 0, 3)
    gl.bindVertexArray(null)
  }

  /** The count of the cell under a CSS point of the canvas (0 where there is none), from the CPU copy. */
  countAt(cssX: number, cssY: number): number {
    this.alive()
    const { cssWidth, cssHeight, scrollY, documentWidth } = this.view
    if (!(cssX >= 0 && cssX < cssWidth && cssY >= 0 && cssY < cssHeight)) return 0
    const store = this.store
    const column = Math.floor((cssX / cssWidth) * store.xCells)
    const band = Math.floor((cssY * (documentWidth / cssWidth) + scrollY) / store.yBandPx)
    return store.count(column, band)
  }

  /** The colour scale in counts; `max` is the count drawn in the hottest colour. */
  legend(): HeatmapLegend {
    this.alive()
    const peak = this.currentPeak()
    return legendOf(this.style, this.style.scale ?? peak, peak)
  }

  /** The canvas as drawn now, as a PNG (transparent where there is no heat). */
  toPNG(): Promise<Blob> {
    try {
      this.alive()
      if (this.gpu === undefined || this.gl.isContextLost())
        throw new HeatmapError('HM_ERR_HEATMAP_CONTEXT_LOST')
      // The drawing buffer is not preserved: draw and encode in the same task.
      this.render()
    } catch (e) {
      return Promise.reject(e)
    }
    return new Promise((resolve, reject) =>
      this.canvas.toBlob(
        (blob) =>
          blob
            ? resolve(blob)
            : reject(new HeatmapError('HM_ERR_HEATMAP_EXPORT', `${this.canvas.width}×${this.canvas.height}`)),
        'image/png',
      ),
    )
  }

  stats(): HeatmapStats {
    return {
      cells: this.store.length,
      drawn: this.drawn,
      uploads: this.uploads,
      allocations: this.allocations,
      format: this.gpu?.format,
      width: this.canvas.width,
      height: this.canvas.height,
    }
  }

  /** Frees the GPU resources and stops listening to the canvas. Calling anything else afterwards throws. */
  destroy(): void {
    if (this.destroyed) return
    this.destroyed = true
    this.canvas.removeEventListener('webglcontextlost', this.onLost)
    this.canvas.removeEventListener('webglcontextrestored', this.onRestored)
    if (this.gpu !== undefined && !this.gl.isContextLost()) destroyGpu(this.gl, this.gpu)
    this.gpu = undefined
  }

  private alive(): void {
    if (this.destroyed) throw new HeatmapError('HM_ERR_HEATMAP_DESTROYED')
    if (this.failure !== undefined) throw this.failure
  }

  private devicePixelRatio(): number {
    return this.canvas.ownerDocument.defaultView?.devicePixelRatio || 1
  }

  /** Sizes the canvas for the view: CSS size as given, drawing buffer in device pixels. */
  private fitCanvas(): void {
    const { canvas, view } = this
    const dpr = this.devicePixelRatio()
    const width = Math.max(1, Math.round(view.cssWidth * dpr))
    const height = Math.max(1, Math.round(view.cssHeight * dpr))
    if (canvas.width !== width) canvas.width = width
    if (canvas.height !== height) canvas.height = height
    if (this.styledWidth !== view.cssWidth) {
      canvas.style.width = `${view.cssWidth}px`
      this.styledWidth = view.cssWidth
    }
    if (this.styledHeight !== view.cssHeight) {
      canvas.style.height = `${view.cssHeight}px`
      this.styledHeight = view.cssHeight
    }
  }

  private currentPeak(): number {
    const { store, style, view } = this
    store.sync()
    fillLayout(this.layout, store.xCells, store.yBandPx, view, style.radius)
    const signed = style.ramp === 'diverging'
    if (
      this.peakVersion !== store.version ||
      this.peakRadius !== style.radius ||
      this.peakWidth !== view.cssWidth ||
      this.peakDocumentWidth !== view.documentWidth ||
      this.peakSigned !== signed
    ) {
      this.peak = view.cssWidth > 0 ? fieldPeak(store, this.layout, signed) : 0
      this.peakVersion = store.version
      this.peakRadius = style.radius
      this.peakWidth = view.cssWidth
      this.peakDocumentWidth = view.documentWidth
      this.peakSigned = signed
    }
    return this.peak
  }
}
