import { createMemo } from 'solid-js'

/** A small line of recent values (events/s), newest on the right, scaled to its own maximum. */
export function Sparkline(props: { values: number[]; width?: number; height?: number; label: string }) {
  const w = () => props.width ?? 120
  const h = () => props.height ?? 28
  const path = createMemo(() => {
    const v = props.values
    if (v.length < 2) return ''
    const max = Math.max(1, ...v)
    const step = w() / (v.length - 1)
    return v
      .map(
        (y, i) =>
          `${i === 0 ? 'M' : 'L'}${(i * step).toFixed(1)},${(h() - 1 - (y / max) * (h() - 2)).toFixed(1)}`,
      )
      .join(' ')
  })
  return (
    <svg
      class="sparkline"
      width={w()}
      height={h()}
      viewBox={`0 0 ${w()} ${h()}`}
      role="img"
      aria-label={props.label}
    >
      <path d={path()} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  )
}
