import { accessToken, dropSession, renew } from '../auth/session'
import { ApiError, type Query, request } from './http'

export { ApiError } from './http'

export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  body?: unknown
  query?: Query
  signal?: AbortSignal
}

/**
 * A request as the signed-in user. An access token that expired on the way is renewed once and the
 * request retried; a sign-in the gateway ended (logout elsewhere, role change, removal) signs out here.
 */
export async function apiResponse(path: string, o: ApiOptions = {}): Promise<Response> {
  const token = await accessToken()
  if (token === null) throw new ApiError(401, 'HM_ERR_AUTH_MISSING', 'not signed in')
  try {
    return await request(path, { ...o, token })
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e
    if (e.code === 'HM_ERR_AUTH_EXPIRED') {
      const next = await renew()
      if (next === null) throw e
      return request(path, { ...o, token: next.accessToken })
    }
    if (e.code === 'HM_ERR_AUTH_REVOKED' || e.code === 'HM_ERR_AUTH_BAD_TOKEN') dropSession()
    throw e
  }
}

export async function api<T>(path: string, o: ApiOptions = {}): Promise<T> {
  const r = await apiResponse(path, o)
  if (r.status === 204) return undefined as T
  return (await r.json()) as T
}

/** A message for an error shown to the user: the gateway's message, else what failed. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.message
  if (e instanceof Error) return e.message
  return String(e)
}

export { requestJson } from './http'
