import { heatmapTypes, type Segment, type ViewportClass, viewportClasses } from '@hm/actors'
import { type TSchema, Type } from '@sinclair/typebox'
import { GatewayError } from '../../errors.ts'

const DAY = 86_400_000
const MAX_RANGE = 400 * DAY

/**
 * Accepts ms since the epoch, a date (`2026-11-20`, midnight UTC) or an ISO 8601 date-time with its
 * offset (`…T10:00:00+05:30` or `Z`). A date-time without one is refused rather than read in the
 * server's time zone: UTC is what is stored, the caller says which instant they mean.
 */
function parseInstant(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(raw))
    throw new GatewayError(
      'HM_ERR_QUERY_BAD_PARAM',
      `${name}: ${JSON.stringify(raw)} needs a UTC offset (Z or ±hh:mm)`,
    )
  const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw)
  if (!Number.isFinite(n)) {
    throw new GatewayError(
      'HM_ERR_QUERY_BAD_PARAM',
      `${name}: ${JSON.stringify(raw)} is not a date-time or ms`,
    )
  }
  return n
}

/** The requested range in ms; the last 7 days when not given. */
export function range(
  q: { from?: string | undefined; to?: string | undefined },
  now: number,
  names = { from: 'from', to: 'to' },
): { from: number; to: number } {
  const to = parseInstant(names.to, q.to, now)
  const from = parseInstant(names.from, q.from, to - 7 * DAY)
  if (from >= to)
    throw new GatewayError('HM_ERR_QUERY_BAD_RANGE', `${names.from}: must be before ${names.to}`)
  if (to - from > MAX_RANGE)
    throw new GatewayError('HM_ERR_QUERY_BAD_RANGE', `${names.from}: range longer than 400 days`)
  return { from, to }
}

/** A resolution or size problem becomes HM_ERR_QUERY_BAD_RESOLUTION naming the field. */
export async function resolutionGuard<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    if (e instanceof RangeError) throw new GatewayError('HM_ERR_QUERY_BAD_RESOLUTION', e.message)
    throw e
  }
}

export const Str = (max: number) => Type.String({ minLength: 1, maxLength: max })
export const Viewport = Type.Union(viewportClasses.map((v) => Type.Literal(v)))
export const Country = Type.String({ pattern: '^[A-Za-z]{2}$' })
export const SiteParams = Type.Object({ siteId: Str(64) })
export const RangeQuery = { from: Type.Optional(Str(40)), to: Type.Optional(Str(40)) }
export const SegmentQuery = {
  viewport: Type.Optional(Viewport),
  device: Type.Optional(Str(32)),
  country: Type.Optional(Country),
}
export const ResolutionQuery = {
  cols: Type.Optional(Type.Integer()),
  bandPx: Type.Optional(Type.Integer()),
}
export const PageQuery = { page: Str(2048) }
export const HeatmapTypeSchema = Type.Union(heatmapTypes.map((t) => Type.Literal(t)))
export const Cells = Type.Array(Type.Tuple([Type.Number(), Type.Number(), Type.Number()]))
export const qs = (props: Record<string, TSchema>) => Type.Object(props, { additionalProperties: false })

export interface SegmentParams {
  viewport?: ViewportClass
  device?: string
  country?: string
}

/** The segment of a query; with a prefix (compare's `aViewport`…), the side's own value wins. */
export const segmentOf = (q: SegmentParams, prefix?: 'a' | 'b'): Segment => {
  const get = (k: 'viewport' | 'device' | 'country'): string | undefined => {
    const own = prefix
      ? (q as Record<string, string | undefined>)[`${prefix}${k[0]!.toUpperCase()}${k.slice(1)}`]
      : undefined
    return own ?? q[k]
  }
  return {
    viewport: get('viewport') as ViewportClass | undefined,
    device: get('device'),
    country: get('country')?.toUpperCase(),
  }
}
