import { For } from 'solid-js'
import { type HeatmapKind, heatmapKinds, type ViewportClass, viewportClasses } from '../api/types'

/** What each heatmap type is called, and what its counts are counts of. */
export const kindLabels: Record<HeatmapKind, { label: string; unit: string }> = {
  click: { label: 'Clicks', unit: 'clicks' },
  move: { label: 'Moves', unit: 'rested moves' },
  scroll: { label: 'Scroll depth', unit: 'page views reaching' },
  attention: { label: 'Attention', unit: 'ms visible' },
  rage: { label: 'Rage clicks', unit: 'rage clicks' },
  dead: { label: 'Dead clicks', unit: 'dead clicks' },
}

/** Typical layout width of each viewport class: the width the page is drawn at. */
export const layoutWidth: Record<ViewportClass | 'all', number> = {
  mobile: 390,
  tablet: 820,
  desktop: 1280,
  all: 1280,
}

/** The heatmap's type and viewport class, as the address holds them (no viewport: all of them). */
export function MapFields(props: {
  kind: HeatmapKind
  viewport: ViewportClass | undefined
  set: (change: { type?: string; viewport?: string | undefined }) => void
}) {
  return (
    <>
      <label>
        Type
        <select name="type" value={props.kind} onChange={(e) => props.set({ type: e.currentTarget.value })}>
          <For each={heatmapKinds}>{(k) => <option value={k}>{kindLabels[k].label}</option>}</For>
        </select>
      </label>
      <label>
        Viewport
        <select
          name="viewport"
          value={props.viewport ?? ''}
          onChange={(e) => props.set({ viewport: e.currentTarget.value || undefined })}
        >
          <option value="">All</option>
          <For each={viewportClasses}>{(v) => <option value={v}>{v}</option>}</For>
        </select>
      </label>
    </>
  )
}
