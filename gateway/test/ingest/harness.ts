export { startTestPlatform } from '../helpers/platform.ts'

export interface Sent {
  status: number
  headers: Headers
  body: {
    accepted?: number
    dropped?: number
    duplicate?: boolean
    error?: { code: string; message: string }
  }
}

/** Posts `body` (a string as is, anything else as JSON) to an ingest path and reads the answer. */
export async function send(
  baseUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Sent> {
  const r = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await r.text()
  let parsed: Sent['body']
  try {
    parsed = JSON.parse(text) as Sent['body']
  } catch {
    throw new Error(`${path} answered ${r.status} with a body that is not JSON: ${text.slice(0, 200)}`)
  }
  return { status: r.status, headers: r.headers, body: parsed }
}

/** The samples of one metric from `/metrics`, keyed by their label text (`reason="stale"`). */
export async function scrape(baseUrl: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue
    const m = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m !== null) out.set(m[1] ?? '', Number(m[2]))
  }
  return out
}
