import type { WireEvent } from '@hm/actors'

export const DESKTOP_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
export const IPHONE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'

let batchNo = 0

/** Posts one batch of a session as a browser would: its User-Agent and the CDN's country header. */
export async function send(
  baseUrl: string,
  siteKey: string,
  session: { id: string; ua: string; country: string },
  events: WireEvent[],
): Promise<void> {
  const r = await fetch(`${baseUrl}/v1/events/collect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': session.ua,
      'cf-ipcountry': session.country,
    },
    body: JSON.stringify({
      siteKey,
      // Padded in the middle, not at the end: `b1` padded to `b10` would be batch 10's id (a retry).
      batchId: `q${process.pid}b${String(++batchNo).padStart(6, '0')}`,
      visitorId: `v-${session.id}`,
      sessionId: session.id,
      events,
    }),
  })
  if (r.status !== 202) throw new Error(`collect ${r.status}: ${await r.text()}`)
}

export interface Api {
  get<T = Record<string, unknown>>(path: string, params?: Record<string, string | number>): Promise<T>
  raw(path: string, params?: Record<string, string | number>): Promise<Response>
  /** The error of a request expected to fail: its status and body's code and message. */
  error(
    path: string,
    params?: Record<string, string | number>,
  ): Promise<{ status: number; code: string; message: string }>
}

export function api(baseUrl: string, apiKey: string, siteId: string): Api {
  const raw = (path: string, params: Record<string, string | number> = {}): Promise<Response> => {
    const qs = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)])).toString()
    return fetch(`${baseUrl}/v1/sites/${siteId}${path}${qs ? `?${qs}` : ''}`, {
      headers: { authorization: `Bearer ${apiKey}` },
    })
  }
  return {
    raw,
    async get<T>(path: string, params?: Record<string, string | number>): Promise<T> {
      const r = await raw(path, params)
      if (r.status !== 200) throw new Error(`${path} ${r.status}: ${await r.text()}`)
      return (await r.json()) as T
    },
    async error(path, params) {
      const r = await raw(path, params)
      const body = (await r.json()) as { error: { code: string; message: string } }
      return { status: r.status, code: body.error.code, message: body.error.message }
    },
  }
}
