import { For, type JSX, Show } from 'solid-js'
import { devices } from '../api/types'
import { rangePresets } from '../lib/range'

/**
 * A date range and a visitor segment as the address holds them. `range` is a preset, `custom` (the dates
 * `from`–`to`) or an option the form adds.
 */
export interface SegmentState {
  range: string
  from: string | undefined
  to: string | undefined
  device: string | undefined
  country: string | undefined
}

/** Fields of a segment to change; undefined clears one. */
export type SegmentChange = Partial<Record<keyof SegmentState, string | undefined>>

/**
 * The range (a preset, or dates, which start at today unless the address has some), the device and the
 * two-letter country. `children` are range options offered before the presets; `prefix` starts each
 * field's name, for a form with more than one segment.
 */
export function SegmentFields(props: {
  state: SegmentState
  set: (change: SegmentChange) => void
  prefix?: string
  children?: JSX.Element
}) {
  // Read once: a form's fields keep their names.
  const prefix = props.prefix ?? ''
  return (
    <>
      <label>
        Range
        <select
          name={`${prefix}range`}
          value={props.state.range}
          onChange={(e) => {
            const range = e.currentTarget.value
            if (range !== 'custom') return props.set({ range, from: undefined, to: undefined })
            const today = new Date().toISOString().slice(0, 10)
            props.set({ range, from: props.state.from ?? today, to: props.state.to ?? today })
          }}
        >
          {props.children}
          <For each={rangePresets}>{(p) => <option value={p.id}>{p.label}</option>}</For>
          <option value="custom">Dates…</option>
        </select>
      </label>
      <Show when={props.state.range === 'custom'}>
        <label>
          From
          <input
            type="date"
            name={`${prefix}from`}
            value={props.state.from ?? ''}
            onChange={(e) => props.set({ from: e.currentTarget.value || undefined })}
          />
        </label>
        <label>
          To
          <input
            type="date"
            name={`${prefix}to`}
            value={props.state.to ?? ''}
            onChange={(e) => props.set({ to: e.currentTarget.value || undefined })}
          />
        </label>
      </Show>
      <label>
        Device
        <select
          name={`${prefix}device`}
          value={props.state.device ?? ''}
          onChange={(e) => props.set({ device: e.currentTarget.value || undefined })}
        >
          <option value="">All</option>
          <For each={devices}>{(d) => <option value={d}>{d}</option>}</For>
        </select>
      </label>
      <label>
        Country
        <input
          name={`${prefix}country`}
          size={3}
          maxLength={2}
          pattern="[A-Za-z]{2}"
          placeholder="any"
          title="Two-letter country code"
          value={props.state.country ?? ''}
          onChange={(e) => {
            const v = e.currentTarget.value.trim()
            if (v === '' || /^[a-z]{2}$/i.test(v)) props.set({ country: v.toUpperCase() || undefined })
          }}
        />
      </label>
    </>
  )
}
