import { randomUUID } from 'node:crypto'
import type { IngestBatch, WireEvent } from '@hm/actors'

/** A click at document (x, y) on a 1280×3000 desktop document. */
export function click(url: string, x: number, y: number, ts = Date.now()): WireEvent {
  return {
    type: 'click',
    ts,
    url,
    vw: 1280,
    vh: 800,
    dw: 1280,
    dh: 3000,
    x,
    y,
    selector: '#cta',
    ox: 0.5,
    oy: 0.5,
  }
}

export function batch(
  siteKey: string,
  events: WireEvent[],
  batchId = randomUUID().replaceAll('-', ''),
): IngestBatch {
  return { siteKey, batchId, visitorId: 'v1', sessionId: 's1', events }
}

export async function post(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${baseUrl}/v1/events/collect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

export async function heatmap(
  baseUrl: string,
  apiKey: string,
  siteId: string,
  params: Record<string, string>,
): Promise<{ total: number; cells: Array<[number, number, number]> }> {
  const qs = new URLSearchParams(params).toString()
  const r = await fetch(`${baseUrl}/v1/sites/${siteId}/heatmap?${qs}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  })
  if (r.status !== 200) throw new Error(`heatmap ${r.status}: ${await r.text()}`)
  return (await r.json()) as { total: number; cells: Array<[number, number, number]> }
}

export async function waitFor<T>(
  probe: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (done(v)) return v
    if (Date.now() > until)
      throw new Error(`not reached in ${timeoutMs} ms; last: ${JSON.stringify(v).slice(0, 300)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
