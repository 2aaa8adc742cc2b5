import { type RangeId, rangeQuery } from '../lib/range.ts'

/** A side as the compare API takes it (`CompareSide` of the API types; kept here free of the fetch code). */
export interface SideQuery {
  from?: string | undefined
  to?: string | undefined
  device?: string | undefined
  country?: string | undefined
}

/** A side's range: a preset or dates, or for side A the period before B or B's own range. */
export type SideRange = RangeId | 'prev' | 'same'

/** One side of a comparison as the address holds it. */
export interface SideState {
  range: SideRange
  from: string | undefined
  to: string | undefined
  device: string | undefined
  country: string | undefined
}

const DAY = 86_400_000

/** An instant the API reads (ms or a date) in ms. */
const ms = (v: string): number => (/^\d+$/.test(v) ? Number(v) : Date.parse(v))

/**
 * The `from`/`to` of both sides. B is a preset ending now or whole days; A is its own range, B's own
 * (to compare segments), or the period of B's length just before it (to compare with before).
 */
export function resolveSides(a: SideState, b: SideState, now = Date.now()): { a: SideQuery; b: SideQuery } {
  const rangeOf = (s: SideState) => {
    const r = rangeQuery(s.range as RangeId, { from: s.from, to: s.to }, now)
    return { from: r.from, to: r.to }
  }
  const bRange = rangeOf(b)
  let aRange: { from: string; to?: string | undefined }
  if (a.range === 'same') aRange = bRange
  else if (a.range === 'prev') {
    const from = ms(bRange.from)
    const to = bRange.to === undefined ? now : ms(bRange.to)
    aRange = { from: String(from - (to - from)), to: String(from) }
  } else aRange = rangeOf(a)
  return {
    a: { ...aRange, device: a.device, country: a.country },
    b: { ...bRange, device: b.device, country: b.country },
  }
}

const iso = (t: number) => new Date(t).toISOString()

/** A range as a person reads it: whole UTC days as dates (the end day included), else minutes, UTC. */
export function describeRange(from: number, to: number): string {
  if (from % DAY === 0 && to % DAY === 0) {
    const first = iso(from).slice(0, 10)
    const last = iso(to - DAY).slice(0, 10)
    return first === last ? first : `${first} – ${last}`
  }
  return `${iso(from).slice(0, 16).replace('T', ' ')} – ${iso(to).slice(0, 16).replace('T', ' ')} UTC`
}
