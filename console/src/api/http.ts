import type { ErrorBody } from './types'

/** An API answer other than 2xx, with the gateway's error code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds to wait before retrying (429 answers). */
    readonly retryAfterS?: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export type Query = Record<string, string | number | boolean | undefined>

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  body?: unknown
  query?: Query
  token?: string
  signal?: AbortSignal
}

/** `path?query` with the undefined parameters left out. */
export function withQuery(path: string, query: Query | undefined): string {
  if (query === undefined) return path
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') qs.set(k, String(v))
  const s = qs.toString()
  return s === '' ? path : `${path}?${s}`
}

/**
 * One request to the gateway that served the console (same origin, so no CORS). JSON in and out;
 * an error answer becomes an `ApiError` carrying the body's code.
 */
export async function request(path: string, o: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {}
  if (o.body !== undefined) headers['content-type'] = 'application/json'
  if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`
  const r = await fetch(withQuery(path, o.query), {
    method: o.method ?? 'GET',
    headers,
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  })
  if (r.ok) return r
  let code = 'HM_ERR_HTTP'
  let message = `${r.status} ${r.statusText}`
  try {
    const body = (await r.json()) as Partial<ErrorBody>
    if (body.error !== undefined) ({ code, message } = body.error)
  } catch {
    // Not the gateway's error body (a proxy's page, say): the status line says what happened.
  }
  const retry = Number(r.headers.get('retry-after'))
  throw new ApiError(r.status, code, message, Number.isFinite(retry) && retry > 0 ? retry : undefined)
}

export async function requestJson<T>(path: string, o: RequestOptions = {}): Promise<T> {
  const r = await request(path, o)
  if (r.status === 204) return undefined as T
  return (await r.json()) as T
}
