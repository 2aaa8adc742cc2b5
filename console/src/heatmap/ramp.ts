import type { HeatmapLegend, HeatmapStyle } from './types.ts'

type Rgba = readonly [number, number, number, number]
interface RampStop {
  /** Position on the ramp, 0..1. */
  at: number
  /** Red, green, blue 0..255 and alpha 0..1, not premultiplied. */
  rgba: Rgba
}

/**
 * The colour ramps. `heat` runs from nothing (transparent) to the peak (red); `diverging` from the most
 * negative (blue) through 0 (transparent, at 0.5) to the most positive (red). Alpha rises with the value
 * so the page stays readable under the cold parts.
 */
const RAMPS: Record<HeatmapStyle['ramp'], ReadonlyArray<RampStop>> = {
  heat: [
    { at: 0, rgba: [0, 0, 255, 0] },
    { at: 0.25, rgba: [0, 90, 255, 0.6] },
    { at: 0.5, rgba: [0, 210, 60, 0.8] },
    { at: 0.75, rgba: [255, 230, 0, 0.9] },
    { at: 1, rgba: [255, 0, 0, 1] },
  ],
  diverging: [
    { at: 0, rgba: [0, 64, 255, 1] },
    { at: 0.25, rgba: [70, 140, 255, 0.65] },
    { at: 0.5, rgba: [255, 255, 255, 0] },
    { at: 0.75, rgba: [255, 110, 70, 0.65] },
    { at: 1, rgba: [255, 0, 0, 1] },
  ],
}

/**
 * Texels in a ramp texture. Odd, so that 0.5 (a difference of 0) falls on a texel centre and is drawn
 * exactly transparent rather than as a blend of its two neighbours.
 */
export const RAMP_SIZE = 257

/** The ramp's colour at `t` (0..1), not premultiplied. */
export function rampColour(ramp: HeatmapStyle['ramp'], t: number): Rgba {
  const stops = RAMPS[ramp]
  let i = 1
  while (i < stops.length - 1 && stops[i]!.at < t) i++
  const a = stops[i - 1]!
  const b = stops[i]!
  const f = Math.min(1, Math.max(0, (t - a.at) / (b.at - a.at)))
  const mix = (k: number) => a.rgba[k]! + (b.rgba[k]! - a.rgba[k]!) * f
  return [mix(0), mix(1), mix(2), mix(3)]
}

/** The ramp as RGBA8 texels, premultiplied, so the GPU's linear filtering between texels stays correct. */
export function rampTexels(ramp: HeatmapStyle['ramp']): Uint8Array {
  const out = new Uint8Array(RAMP_SIZE * 4)
  for (let i = 0; i < RAMP_SIZE; i++) {
    const [r, g, b, a] = rampColour(ramp, i / (RAMP_SIZE - 1))
    out[i * 4] = Math.round(r * a)
    out[i * 4 + 1] = Math.round(g * a)
    out[i * 4 + 2] = Math.round(b * a)
    out[i * 4 + 3] = Math.round(a * 255)
  }
  return out
}

/**
 * The legend for a field whose highest value is `peak`, coloured over `span` (the peak itself, or the
 * style's fixed scale): at intensity `i` the hottest colour is reached at `span / i`, so that is the
 * legend's `max`, and every stop carries the count drawn in its colour.
 */
export function legendOf(style: HeatmapStyle, span: number, peak = span): HeatmapLegend {
  const max = span / style.intensity
  const diverging = style.ramp === 'diverging'
  const stops = RAMPS[style.ramp].map(({ at, rgba: [r, g, b, a] }) => ({
    value: (diverging ? 2 * at - 1 : at) * max,
    color: `rgba(${r}, ${g}, ${b}, ${Math.round(a * style.opacity * 1000) / 1000})`,
  }))
  return { max, peak, stops }
}
