/** Date ranges of the viewer: a preset ending now, or whole UTC days. */
export const rangePresets = [
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
  { id: '90d', label: 'Last 90 days', ms: 90 * 86_400_000 },
] as const

export type RangeId = (typeof rangePresets)[number]['id'] | 'custom'

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/**
 * The `from`/`to` query of a range. A preset leaves `to` out, so the gateway reads up to its own now
 * (and merges the cells not yet flushed); a custom range covers its end day whole (`to` is the next
 * midnight, UTC, as the API reads a date).
 */
export function rangeQuery(
  id: RangeId,
  custom: { from?: string | undefined; to?: string | undefined },
  now = Date.now(),
): { from: string; to?: string; endsNow: boolean } {
  const preset = rangePresets.find((p) => p.id === id)
  if (preset !== undefined || custom.from === undefined || custom.to === undefined)
    return { from: String(now - (preset?.ms ?? 7 * 86_400_000)), endsNow: true }
  const end = Date.parse(custom.to) + 86_400_000
  return { from: custom.from, to: isoDay(end), endsNow: end > now }
}
