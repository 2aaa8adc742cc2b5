import { For, Show } from 'solid-js'
import { devices } from '../api/types'
import { rangePresets } from '../lib/range'
import type { SideChange, SideRange, SideState } from './compare-range'

/** The range, device and country of one side; side A also offers "before B" and "same as B". */
export function SideControls(props: {
  side: 'a' | 'b'
  title: string
  state: SideState
  set: (change: SideChange) => void
}) {
  return (
    <fieldset class="compare-side filters" data-side={props.side}>
      <legend>{props.title}</legend>
      <label>
        Range
        <select
          name={`${props.side}-range`}
          value={props.state.range}
          onChange={(e) => {
            const range = e.currentTarget.value as SideRange
            if (range !== 'custom') return props.set({ range, from: undefined, to: undefined })
            const today = new Date().toISOString().slice(0, 10)
            props.set({ range, from: props.state.from ?? today, to: props.state.to ?? today })
          }}
        >
          <Show when={props.side === 'a'}>
            <option value="prev">Period before B</option>
            <option value="same">Same as B</option>
          </Show>
          <For each={rangePresets}>{(p) => <option value={p.id}>{p.label}</option>}</For>
          <option value="custom">Dates…</option>
        </select>
      </label>
      <Show when={props.state.range === 'custom'}>
        <label>
          From
          <input
            type="date"
            name={`${props.side}-from`}
            value={props.state.from ?? ''}
            onChange={(e) => props.set({ from: e.currentTarget.value || undefined })}
          />
        </label>
        <label>
          To
          <input
            type="date"
            name={`${props.side}-to`}
            value={props.state.to ?? ''}
            onChange={(e) => props.set({ to: e.currentTarget.value || undefined })}
          />
        </label>
      </Show>
      <label>
        Device
        <select
          name={`${props.side}-device`}
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
          name={`${props.side}-country`}
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
    </fieldset>
  )
}
