import type { ViewportClass } from '../grid.ts'

/** A segment of the traffic: every field given narrows it. */
export interface Segment {
  viewport?: ViewportClass | undefined
  /** Device class from the User-Agent (`desktop`, `mobile`, `tablet`, …). */
  device?: string | undefined
  /** ISO 3166-1 alpha-2 country. */
  country?: string | undefined
}

/** Where a query looks: a site's page (or all its pages), a range and a segment. */
export interface Scope extends Segment {
  siteId: string
  /** Inclusive start and exclusive end, ms since the epoch (UTC). */
  from: number
  to: number
}

export const HOUR_MS = 3_600_000

/**
 * The whole UTC hours the hourly tables answer for `[from, to)`: the hours that overlap it. A range given
 * with an offset such as +05:30 starts inside an hour; that hour is counted whole, and the answer says so.
 */
export function coveredHours(from: number, to: number): { from: number; to: number } {
  return { from: Math.floor(from / HOUR_MS) * HOUR_MS, to: Math.ceil(to / HOUR_MS) * HOUR_MS }
}

/** SQL conditions and parameters for a scope over a table with an hourly `hour` column. */
export function hourlyWhere(s: Scope, prefix = ''): { sql: string; params: Record<string, string | number> } {
  const p = prefix
  const conds = [
    `site_id = {${p}site:String}`,
    `hour >= toStartOfHour(fromUnixTimestamp64Milli({${p}from:Int64}, 'UTC'))`,
    `hour < fromUnixTimestamp64Milli({${p}to:Int64}, 'UTC')`,
  ]
  const params: Record<string, string | number> = {
    [`${p}site`]: s.siteId,
    [`${p}from`]: s.from,
    [`${p}to`]: s.to,
  }
  segmentWhere(s, conds, params, p)
  return { sql: conds.join(' AND '), params }
}

export function segmentWhere(
  s: Segment,
  conds: string[],
  params: Record<string, string | number>,
  p = '',
): void {
  if (s.viewport !== undefined) {
    conds.push(`viewport = {${p}viewport:String}`)
    params[`${p}viewport`] = s.viewport
  }
  if (s.device !== undefined) {
    conds.push(`device = {${p}device:String}`)
    params[`${p}device`] = s.device
  }
  if (s.country !== undefined) {
    conds.push(`country = {${p}country:String}`)
    params[`${p}country`] = s.country
  }
}
