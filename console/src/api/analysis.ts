import { api } from './client'
import type { Cell, HeatmapKind, ViewportClass } from './types'

/** The page, range and segment every analysis of one page is asked for. */
export interface PageScope {
  siteId: string
  page: string
  from?: string | undefined
  to?: string | undefined
  viewport?: ViewportClass | undefined
  device?: string | undefined
  country?: string | undefined
}

const query = (s: PageScope) => ({
  page: s.page,
  from: s.from,
  to: s.to,
  viewport: s.viewport,
  device: s.device,
  country: s.country,
})
const site = (s: { siteId: string }, path: string) => `/v1/sites/${encodeURIComponent(s.siteId)}/${path}`

/** `GET /v1/sites/<id>/scroll`: page views reaching each row, the average fold and the marked depths. */
export interface ScrollAnswer {
  siteId: string
  page: string
  from: number
  to: number
  bandPx: number
  views: number
  /** The average height of the first viewport, px. */
  avgFoldPx: number
  /** One per row from the top: page views that saw any of it, and their share of all. */
  bands: Array<{ y: number; reached: number; share: number }>
  /** The deepest px reached by at least `percent` % of page views (100, 75, 50, 25; none without views). */
  marks: Array<{ percent: number; y: number }>
}

/** `GET /v1/sites/<id>/attention`: visible time per row. */
export interface AttentionAnswer {
  siteId: string
  page: string
  from: number
  to: number
  bandPx: number
  views: number
  /** Per row: visible ms in all, per page view, and as a share of the most looked-at row. */
  bands: Array<{ y: number; ms: number; msPerView: number; share: number }>
}

export type ElementSort = 'clicks' | 'rage' | 'dead'

export interface ElementStat {
  selector: string
  clicks: number
  /** Rage bursts, the clicks they held, and dead clicks. */
  rage: number
  rageClicks: number
  dead: number
  /** Share of the page's element clicks. */
  share: number
}

/** `GET /v1/sites/<id>/elements`: the page's top elements. */
export interface ElementsAnswer {
  siteId: string
  page: string
  from: number
  to: number
  totalClicks: number
  elements: ElementStat[]
}

/** A side's segment as the comparison echoes it. */
export interface CompareSegment {
  viewport?: string
  device?: string
  country?: string
}

export interface ComparePart {
  from: number
  to: number
  segment: CompareSegment
  views: number
  total: number
  /** `[x, y, value]`: per page view, or a share of the side's total. */
  cells: Cell[]
}

export type CompareNorm = 'view' | 'total'

/** `GET /v1/sites/<id>/compare`. */
export interface CompareAnswer {
  siteId: string
  page: string
  type: HeatmapKind
  per: CompareNorm
  xCells: number
  yBandPx: number
  a: ComparePart
  b: ComparePart
  /** `[x, y, b − a]` over the cells of either side. */
  diff: Cell[]
}

/** One side of a comparison: its range and segment (what it leaves out, it shares with the other). */
export interface CompareSide {
  from?: string | undefined
  to?: string | undefined
  device?: string | undefined
  country?: string | undefined
}

export function getScroll(s: PageScope): Promise<ScrollAnswer> {
  return api<ScrollAnswer>(site(s, 'scroll'), { query: query(s) })
}

export function getAttention(s: PageScope): Promise<AttentionAnswer> {
  return api<AttentionAnswer>(site(s, 'attention'), { query: query(s) })
}

export function getElements(s: PageScope & { sort: ElementSort; limit?: number }): Promise<ElementsAnswer> {
  return api<ElementsAnswer>(site(s, 'elements'), {
    query: { ...query(s), sort: s.sort, limit: s.limit ?? 20 },
  })
}

/** Kinds drawn as full-width rows: one column is their whole resolution. */
export const bandKinds: ReadonlySet<HeatmapKind> = new Set(['scroll', 'attention'])

export function getComparison(q: {
  siteId: string
  page: string
  type: HeatmapKind
  viewport?: ViewportClass | undefined
  per: CompareNorm
  a: CompareSide
  b: CompareSide
}): Promise<CompareAnswer> {
  return api<CompareAnswer>(site(q, 'compare'), {
    query: {
      page: q.page,
      type: q.type,
      viewport: q.viewport,
      per: q.per,
      cols: bandKinds.has(q.type) ? 1 : undefined,
      aFrom: q.a.from,
      aTo: q.a.to,
      aDevice: q.a.device,
      aCountry: q.a.country,
      bFrom: q.b.from,
      bTo: q.b.to,
      bDevice: q.b.device,
      bCountry: q.b.country,
    },
  })
}
