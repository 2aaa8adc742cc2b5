import { createEffect, createSignal, For, type JSX, on, onCleanup, onMount, Show } from 'solid-js'
import type { Cell } from '../api/types'
import { type HeatmapGrid, type HeatmapLegend, HeatmapRenderer, type HeatmapStyle } from '../heatmap'
import { BackgroundControls, BackgroundLayer, createPageBackground } from './page-background'

export interface StageHandle {
  /** Adds live counts (at the grid's own resolution) and redraws. */
  addDelta(cells: Cell[]): void
  toPNG(): Promise<Blob>
}

export interface StageProps {
  grid: HeatmapGrid | undefined
  /** The layout width the page is shown at (the viewport class's typical width). */
  documentWidth: number
  style: HeatmapStyle
  /** What a count is (`clicks`, `ms visible`…), for the hover and the legend. */
  unit: string
  label: string
  ref?: (handle: StageHandle) => void
  /** Drawn over the document: lines and labels of an analysis (scroll depth, attention). */
  overlay?: (view: StageOverlayView) => JSX.Element
  /** The legend of every frame, for a caller sharing one scale between maps. */
  onLegend?: (legend: HeatmapLegend) => void
  /** The page drawn behind the map (a frame or a screenshot at `documentWidth`); none when not given. */
  background?: { siteId: string; page: string } | undefined
}

/** What an overlay places itself by: CSS px per document px, and the document y under the pointer. */
export interface StageOverlayView {
  scale: () => number
  pointerY: () => number | undefined
}

/** Deepest document pixel holding a count, so the stage scrolls as far as there is data. */
function depthOf(grid: HeatmapGrid | undefined): number {
  let maxBand = -1
  for (const c of grid?.cells ?? []) if (c[1] > maxBand) maxBand = c[1]
  return (maxBand + 1) * (grid?.yBandPx ?? 16)
}

const whole = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 })
const small = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 2 })
/** Counts as they are; rates under 1 (per page view, shares) with two digits that say something. */
const fmt = { format: (v: number) => (v === 0 || Math.abs(v) >= 1 ? whole : small).format(v) }

/**
 * The page's document at a layout width, scaled to fit, with the WebGL heatmap drawn over the part in
 * view: the canvas stays in place (sticky) while the document scrolls under it, and the renderer draws the
 * rows at `scrollY`. A count under the pointer is shown on hover; the legend reads the real counts.
 */
export function HeatmapStage(props: StageProps) {
  let scroller!: HTMLElement
  let canvas!: HTMLCanvasElement
  let renderer: HeatmapRenderer | undefined
  let frame = 0
  const [failure, setFailure] = createSignal<string>()
  const [size, setSize] = createSignal({ width: 0, height: 0 })
  const [scrollTop, setScrollTop] = createSignal(0)
  const [deepest, setDeepest] = createSignal(0)
  const [legend, setLegend] = createSignal<{ max: number; stops: Array<{ value: number; color: string }> }>({
    max: 0,
    stops: [],
  })
  const [hover, setHover] = createSignal<{ x: number; y: number; count: number }>()
  const bg = createPageBackground(
    () => props.background && { ...props.background, width: props.documentWidth },
  )

  const scale = () => Math.min(1, size().width / props.documentWidth || 1)
  const cssWidth = () => Math.round(props.documentWidth * scale())
  /** Document height shown: the data's depth, at least one screen, and the whole page behind when known. */
  const documentHeight = () => Math.max(deepest() + 200, size().height / scale(), bg.height() ?? 0)
  const canvasHeight = () => Math.max(1, Math.min(size().height, Math.round(documentHeight() * scale())))

  const draw = (): void => {
    frame = 0
    if (renderer === undefined) return
    renderer.setView({
      cssWidth: cssWidth(),
      cssHeight: canvasHeight(),
      scrollY: scrollTop() / scale(),
      documentWidth: props.documentWidth,
    })
    renderer.render()
    const l = renderer.legend()
    setLegend(l)
    props.onLegend?.(l)
    // The pointer stays put while the document scrolls under it: its count follows what is under it now.
    const h = hover()
    if (h !== undefined) setHover({ ...h, count: renderer.countAt(h.x, h.y) })
  }
  const schedule = (): void => {
    if (frame === 0) frame = requestAnimationFrame(draw)
  }

  onMount(() => {
    try {
      renderer = new HeatmapRenderer(canvas)
    } catch (e) {
      setFailure(e instanceof Error ? e.message : String(e))
      return
    }
    const resize = new ResizeObserver(() =>
      setSize({ width: scroller.clientWidth, height: scroller.clientHeight }),
    )
    resize.observe(scroller)
    props.ref?.({
      addDelta(cells) {
        if (renderer === undefined || cells.length === 0) return
        renderer.addDelta(cells)
        let d = 0
        for (const c of cells) d = Math.max(d, (c[1] + 1) * (props.grid?.yBandPx ?? 16))
        if (d > deepest()) setDeepest(d)
        schedule()
      },
      async toPNG() {
        if (renderer === undefined) throw new Error('the heatmap is not drawn')
        draw()
        return renderer.toPNG()
      },
    })
    onCleanup(() => {
      resize.disconnect()
      cancelAnimationFrame(frame)
      renderer?.destroy()
      renderer = undefined
    })
  })

  createEffect(
    on(
      () => props.grid,
      (grid) => {
        if (renderer === undefined || grid === undefined) return
        renderer.setGrid(grid)
        setDeepest(depthOf(grid))
        schedule()
      },
    ),
  )
  createEffect(() => {
    const style = { ...props.style }
    if (renderer === undefined) return
    renderer.setStyle(style)
    schedule()
  })
  // Size, scroll or layout width changed: the view moves.
  createEffect(
    on([size, scrollTop, () => props.documentWidth, deepest, bg.height], () => schedule(), { defer: true }),
  )

  const onPointer = (e: PointerEvent): void => {
    if (renderer === undefined) return
    const rect = canvas.getBoundingClientRect()
    const x = e.clientX - rect.left
    const y = e.clientY - rect.top
    if (x < 0 || y < 0 || x > rect.width || y > rect.height) {
      setHover(undefined)
      return
    }
    setHover({ x, y, count: renderer.countAt(x, y) })
  }

  return (
    <div class="stage">
      <Show when={failure()}>
        <p class="error" role="alert">
          The heatmap cannot be drawn in this browser: {failure()}
        </p>
      </Show>
      <section
        class="stage-scroller"
        ref={scroller}
        onScroll={() => setScrollTop(scroller.scrollTop)}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region takes focus so a keyboard can scroll it
        tabIndex={0}
        aria-label={`${props.label}; scroll to move down the page`}
      >
        <div
          class="stage-doc"
          style={{ width: `${cssWidth()}px`, height: `${Math.round(documentHeight() * scale())}px` }}
        >
          <canvas
            ref={canvas}
            class="stage-canvas"
            data-testid="heatmap-canvas"
            role="img"
            aria-label={props.label}
            style={{
              width: `${cssWidth()}px`,
              height: `${canvasHeight()}px`,
              'margin-bottom': `-${canvasHeight()}px`,
            }}
            onPointerMove={onPointer}
            onPointerLeave={() => setHover(undefined)}
          />
          <BackgroundLayer bg={bg} width={props.documentWidth} height={documentHeight()} scale={scale()} />
          <Show when={props.overlay}>
            {(overlay) => (
              <div class="stage-overlay">
                {overlay()({
                  scale,
                  pointerY: () => {
                    const h = hover()
                    return h === undefined ? undefined : (h.y + scrollTop()) / scale()
                  },
                })}
              </div>
            )}
          </Show>
          <Show when={hover()}>
            {(h) => (
              <output
                class="stage-tip"
                data-testid="heatmap-hover"
                style={{ left: `${h().x + 12}px`, top: `${h().y + scrollTop() + 12}px` }}
              >
                {fmt.format(h().count)} {props.unit}
              </output>
            )}
          </Show>
        </div>
      </section>
      {/* Below the stage: what the page behind is, or why there is none, never moves the map. */}
      <Show when={props.background}>
        <BackgroundControls bg={bg} />
      </Show>
      <figure class="legend" aria-label="Colour scale">
        <div
          class="legend-bar"
          style={{
            background: `linear-gradient(to right, ${
              legend().stops.length > 1
                ? legend()
                    .stops.map((s) => s.color)
                    .join(', ')
                : 'transparent, transparent'
            })`,
          }}
        />
        <figcaption>
          <For
            each={legend().stops.filter(
              (_, i, all) => i === 0 || i === all.length - 1 || i === Math.floor(all.length / 2),
            )}
          >
            {(s) => <span>{fmt.format(s.value)}</span>}
          </For>
          <span class="legend-unit">{props.unit}</span>
        </figcaption>
      </figure>
    </div>
  )
}
