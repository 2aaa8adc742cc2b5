import { api } from './client'
import type { SessionAnswer, SessionSort, SessionsAnswer } from './types'

/** The filters, sort and page of a sessions list, as `GET /v1/sites/<id>/sessions` takes them. */
export interface SessionsQuery {
  from?: string | undefined
  to?: string | undefined
  device?: string | undefined
  country?: string | undefined
  browser?: string | undefined
  os?: string | undefined
  page?: string | undefined
  minDurationS?: number | undefined
  rage?: boolean | undefined
  dead?: boolean | undefined
  ended?: boolean | undefined
  sort?: SessionSort | undefined
  order?: 'asc' | 'desc' | undefined
  limit?: number | undefined
  offset?: number | undefined
}

export function listSessions(siteId: string, q: SessionsQuery): Promise<SessionsAnswer> {
  return api<SessionsAnswer>(`/v1/sites/${encodeURIComponent(siteId)}/sessions`, { query: { ...q } })
}

export function getSession(siteId: string, sessionId: string): Promise<SessionAnswer> {
  return api<SessionAnswer>(
    `/v1/sites/${encodeURIComponent(siteId)}/sessions/${encodeURIComponent(sessionId)}`,
  )
}

/** `1 min 05 s`, `42 s`, `1 h 02 min`: a duration as a person reads it. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, '0')} s`
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`
}
