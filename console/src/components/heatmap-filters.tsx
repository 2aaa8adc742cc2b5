import { createEffect, For, on, Show } from 'solid-js'
import { devices, type HeatmapKind, heatmapKinds, type ViewportClass, viewportClasses } from '../api/types'
import { type RangeId, rangePresets } from '../lib/range'

export interface Filters {
  kind: HeatmapKind
  viewport: ViewportClass | undefined
  range: RangeId
  custom: { from?: string | undefined; to?: string | undefined }
  device: string | undefined
  country: string | undefined
}

export type FilterChange = Partial<
  Record<'type' | 'viewport' | 'range' | 'from' | 'to' | 'device' | 'country' | 'live', string>
>

/** The viewer's filters: type, viewport class, date range, device, country, and the live switch. */
export function HeatmapFilters(props: {
  filters: Filters
  live: boolean
  /** Why live mode is off limits for these filters, if it is. */
  liveReason: string | undefined
  labels: Record<HeatmapKind, { label: string }>
  /** Changes the filters (kept in the address); undefined clears one. */
  set: (change: FilterChange) => void
}) {
  // The router holds the address until the reads of the last change finish; a change made meanwhile (the
  // second date of a range) is merged with the ones still on their way rather than replacing them.
  let pending: FilterChange = {}
  createEffect(
    on(
      () => ({ ...props.filters, custom: { ...props.filters.custom } }),
      () => {
        pending = {}
      },
      { defer: true },
    ),
  )
  const set = (change: FilterChange) => {
    pending = { ...pending, ...change }
    props.set(pending)
  }
  return (
    <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        Type
        <select name="type" value={props.filters.kind} onChange={(e) => set({ type: e.currentTarget.value })}>
          <For each={heatmapKinds}>{(k) => <option value={k}>{props.labels[k].label}</option>}</For>
        </select>
      </label>
      <label>
        Viewport
        <select
          name="viewport"
          value={props.filters.viewport ?? ''}
          onChange={(e) => set({ viewport: e.currentTarget.value || undefined })}
        >
          <option value="">All</option>
          <For each={viewportClasses}>{(v) => <option value={v}>{v}</option>}</For>
        </select>
      </label>
      <label>
        Range
        <select
          name="range"
          value={props.filters.range}
          onChange={(e) => {
            const id = e.currentTarget.value as RangeId
            if (id !== 'custom') return set({ range: id, from: undefined, to: undefined })
            const today = new Date().toISOString().slice(0, 10)
            set({
              range: id,
              from: props.filters.custom.from ?? today,
              to: props.filters.custom.to ?? today,
            })
          }}
        >
          <For each={rangePresets}>{(p) => <option value={p.id}>{p.label}</option>}</For>
          <option value="custom">Dates…</option>
        </select>
      </label>
      <Show when={props.filters.range === 'custom'}>
        <label>
          From
          <input
            type="date"
            name="from"
            value={props.filters.custom.from ?? ''}
            onChange={(e) => set({ from: e.currentTarget.value })}
          />
        </label>
        <label>
          To
          <input
            type="date"
            name="to"
            value={props.filters.custom.to ?? ''}
            onChange={(e) => set({ to: e.currentTarget.value })}
          />
        </label>
      </Show>
      <label>
        Device
        <select
          name="device"
          value={props.filters.device ?? ''}
          onChange={(e) => set({ device: e.currentTarget.value || undefined })}
        >
          <option value="">All</option>
          <For each={devices}>{(d) => <option value={d}>{d}</option>}</For>
        </select>
      </label>
      <label>
        Country
        <input
          name="country"
          size={3}
          maxLength={2}
          pattern="[A-Za-z]{2}"
          placeholder="any"
          title="Two-letter country code"
          value={props.filters.country ?? ''}
          onChange={(e) => {
            const v = e.currentTarget.value.trim()
            if (v === '' || /^[a-z]{2}$/i.test(v)) set({ country: v.toUpperCase() || undefined })
          }}
        />
      </label>
      <label class="toggle" title={props.liveReason ?? 'Update the map as visitors act'}>
        <input
          type="checkbox"
          name="live"
          checked={props.live}
          disabled={props.liveReason !== undefined}
          onChange={(e) => set({ live: e.currentTarget.checked ? '1' : undefined })}
        />
        Live
      </label>
    </form>
  )
}
