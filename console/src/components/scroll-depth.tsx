import { createMemo, createResource, For, Show } from 'solid-js'
import {
  type AttentionAnswer,
  getAttention,
  getScroll,
  type PageScope,
  type ScrollAnswer,
} from '../api/analysis'
import { errorText } from '../api/client'
import type { StageOverlayView } from './heatmap-stage'
import './analysis.css'

const px = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
const seconds = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, minimumFractionDigits: 1 })
const percent = (share: number): string => `${Math.round(share * 100)}%`

/** Share of page views that saw document y: the curve has one row per `bandPx` from the top. */
export function shareAt(s: Pick<ScrollAnswer, 'bands' | 'bandPx'>, y: number): number {
  return y < 0 ? 1 : (s.bands[Math.floor(y / s.bandPx)]?.share ?? 0)
}

/** A labelled horizontal line across the document at `y` (document px). */
function Line(props: {
  y: number
  scale: number
  class: string
  testid: string
  /** The share of page views a depth mark stands for. */
  percent?: number
  children: string
}) {
  return (
    <div
      class={`doc-line ${props.class}`}
      data-testid={props.testid}
      data-y={props.y}
      data-percent={props.percent}
      style={{ top: `${Math.round(props.y * props.scale)}px` }}
    >
      <span class="doc-line-label">{props.children}</span>
    </div>
  )
}

/**
 * The average fold: how far down the page the first screen reaches for the average visitor, the line
 * above which everything is seen without scrolling.
 */
function Fold(props: { scroll: ScrollAnswer | undefined; scale: number }) {
  return (
    <Show when={props.scroll !== undefined && props.scroll.views > 0 ? props.scroll : undefined}>
      {(s) => (
        <Line y={s().avgFoldPx} scale={props.scale} class="fold-line" testid="fold-line">
          {`Average fold · ${px.format(s().avgFoldPx)} px`}
        </Line>
      )}
    </Show>
  )
}

function Failure(props: { error: unknown }) {
  return (
    <Show when={props.error}>
      <p class="overlay-error" role="alert">
        {errorText(props.error)}
      </p>
    </Show>
  )
}

/**
 * Over the scroll-depth map (the renderer colours the rows from hot, seen by all, to cold, seen by few):
 * lines where 100, 75, 50 and 25 % of page views still were, the average fold, and the share that
 * reached the point under the pointer.
 */
export function ScrollDepthOverlay(props: { scope: PageScope; view: StageOverlayView }) {
  const [scroll] = createResource(() => ({ ...props.scope }), getScroll)
  const pointer = createMemo(() => {
    const s = scroll.latest
    const y = props.view.pointerY()
    return s === undefined || y === undefined || s.views === 0 ? undefined : { y, share: shareAt(s, y) }
  })
  return (
    <>
      <Failure error={scroll.error} />
      <For each={scroll.latest?.marks ?? []}>
        {(m) => (
          <Line
            y={m.y}
            scale={props.view.scale()}
            class="depth-mark"
            testid="scroll-mark"
            percent={m.percent}
          >
            {`${m.percent}% reached ${px.format(m.y)} px`}
          </Line>
        )}
      </For>
      <Fold scroll={scroll.latest} scale={props.view.scale()} />
      <Show when={pointer()}>
        {(p) => (
          <Line y={p().y} scale={props.view.scale()} class="pointer-line" testid="scroll-pointer">
            {`${percent(p().share)} of page views reached this point`}
          </Line>
        )}
      </Show>
    </>
  )
}

/**
 * Over the attention map (rows coloured by visible time): the row looked at longest, the average fold,
 * and the visible time per page view of the row under the pointer.
 */
export function AttentionOverlay(props: { scope: PageScope; view: StageOverlayView }) {
  const [attention] = createResource(() => ({ ...props.scope }), getAttention)
  const [scroll] = createResource(() => ({ ...props.scope }), getScroll)
  const byRow = createMemo(() => {
    const a = attention.latest
    return new Map((a?.bands ?? []).map((b) => [b.y / a!.bandPx, b]))
  })
  const top = createMemo(() => {
    let best: AttentionAnswer['bands'][number] | undefined
    for (const b of attention.latest?.bands ?? []) if (best === undefined || b.ms > best.ms) best = b
    return best
  })
  const pointer = createMemo(() => {
    const a = attention.latest
    const y = props.view.pointerY()
    if (a === undefined || y === undefined) return undefined
    return { y, msPerView: byRow().get(Math.floor(y / a.bandPx))?.msPerView ?? 0 }
  })
  return (
    <>
      <Failure error={attention.error ?? scroll.error} />
      <Show when={top()}>
        {(b) => (
          <Line
            y={b().y + (attention.latest?.bandPx ?? 16) / 2}
            scale={props.view.scale()}
            class="attention-top"
            testid="attention-top"
          >
            {`Most attention · ${seconds.format(b().msPerView / 1000)} s per page view`}
          </Line>
        )}
      </Show>
      <Fold scroll={scroll.latest} scale={props.view.scale()} />
      <Show when={pointer()}>
        {(p) => (
          <Line y={p().y} scale={props.view.scale()} class="pointer-line" testid="attention-pointer">
            {`${seconds.format(p().msPerView / 1000)} s visible per page view here`}
          </Line>
        )}
      </Show>
    </>
  )
}
