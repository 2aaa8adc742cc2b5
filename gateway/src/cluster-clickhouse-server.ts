import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip, createGzip } from 'node:zlib'
import { openClickHouse } from '@hm/actors'

type ClickHouseClient = ReturnType<typeof openClickHouse>
type Format = NonNullable<
  NonNullable<Parameters<ClickHouseClient['exec']>[0]['clickhouse_settings']>['default_format']
>

export interface ChdbHttpServerOptions {
  /** chDB keeps its data in `<dataDir>/clickhouse`; one process may bind a data dir. */
  dataDir: string
  host?: string
  /** 0 picks a free port. */
  port?: number
  /** When set, requests must carry these credentials (HTTP basic, or X-ClickHouse-User / -Key). */
  user?: string
  password?: string
}

export interface ChdbHttpServer {
  /** `http://host:port`: what the other processes set as `HM_CLICKHOUSE_URL`. */
  url: string
  close(): Promise<void>
}

/** URL parameters that are not settings: the HTTP interface's own. */
const OWN_PARAMS = new Set(['query', 'query_id', 'database', 'session_id', 'role', 'user', 'password'])
/** Settings of the HTTP layer that the engine itself does not know. */
const HTTP_SETTINGS = new Set([
  'enable_http_compression',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_response_buffer_size',
  'http_zlib_compression_level',
  'default_format',
])
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

const quote = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

/**
 * A ClickHouse HTTP endpoint served from this process's chDB: the part of the ClickHouse HTTP interface
 * that `@clickhouse/client` uses (`GET /ping`; `POST /` with the SQL as body — query, command, exec — or
 * with `?query=INSERT … FORMAT …` and the rows as body; `param_*` query parameters; settings as URL
 * parameters; gzip both ways; errors as `Code: N. DB::Exception: … (TYPE)` with status 500).
 *
 * It exists so several processes on one machine can share one analytics store without a ClickHouse
 * server (chDB binds one data directory per process): one process serves, the others point
 * `HM_CLICKHOUSE_URL` at it. It is not a ClickHouse server: one engine session serves every request, so
 * settings a request sends stay set for later ones, `database` other than `default` is refused (the
 * product qualifies every table), and there are no users beyond the one optional credential.
 *
 * @example
 * const server = await serveChdbHttp({ dataDir: './data/analytics', port: 8123 })
 * // other processes: HM_CLICKHOUSE_URL=http://127.0.0.1:8123
 */
export async function serveChdbHttp(options: ChdbHttpServerOptions): Promise<ChdbHttpServer> {
  const client = openClickHouse({ dataDir: options.dataDir })
  const server = createServer((req, res) => {
    handle(client, options, req, res).catch((e: unknown) => fail(res, e))
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 8123, options.host ?? '127.0.0.1', () => resolve())
    })
  } catch (e) {
    await client.close()
    throw e
  }
  const { address, port } = server.address() as AddressInfo
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: async () => {
      await closeServer(server)
      await client.close()
    },
  }
}

async function handle(
  client: ClickHouseClient,
  o: ChdbHttpServerOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x')
  if (
    url.pathname === '/ping' ||
    (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))
  ) {
    res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n')
    return
  }
  if (o.password !== undefined && !authorized(o, req, url)) {
    return error(res, 401, 516, 'AUTHENTICATION_FAILED', `${o.user ?? 'default'}: Authentication failed`)
  }
  if (url.pathname !== '/' || (req.method !== 'POST' && req.method !== 'GET')) {
    return error(res, 404, 0, 'UNKNOWN', `no handler for ${req.method} ${url.pathname}`)
  }
  const database = url.searchParams.get('database')
  if (database !== null && database !== 'default') {
    return error(res, 400, 81, 'UNKNOWN_DATABASE', `database=${database}: qualify table names instead`)
  }
  const encoding = req.headers['content-encoding']
  if (encoding !== undefined && encoding !== 'gzip') {
    return error(res, 400, 0, 'UNKNOWN', `Content-Encoding ${encoding} is not supported (gzip is)`)
  }
  const raw = encoding === 'gzip' ? req.pipe(createGunzip()) : req
  const chunks: Buffer[] = []
  for await (const chunk of raw) chunks.push(chunk as Buffer)
  const body = Buffer.concat(chunks)
  const params = new Map<string, string>()
  const settings: Record<string, string> = {}
  let query = url.searchParams.get('query')
  let rows: Buffer | undefined
  const contentType = req.headers['content-type'] ?? ''
  if (contentType.startsWith('multipart/form-data')) {
    // Query parameters too long for a URL come as parts beside the query.
    const form = await new Response(body, { headers: { 'content-type': contentType } }).formData()
    for (const [k, v] of form) {
      if (k === 'query') query = String(v)
      else if (k.startsWith('param_')) params.set(k.slice(6), String(v))
    }
  } else if (query === null) query = body.toString('utf8')
  else if (body.length > 0) rows = body
  for (const [k, v] of url.searchParams) {
    if (k.startsWith('param_')) params.set(k.slice(6), v)
    else if (!OWN_PARAMS.has(k) && !HTTP_SETTINGS.has(k)) settings[k] = v
  }
  const sets: string[] = []
  for (const [k, v] of [
    ...Object.entries(settings),
    ...[...params].map(([p, v]) => [`param_${p}`, v] as const),
  ]) {
    if (!NAME.test(k))
      return error(res, 400, 115, 'UNKNOWN_SETTING', `bad parameter name ${JSON.stringify(k)}`)
    sets.push(`SET ${k} = ${quote(v)}`)
  }
  if (query === null || query.trim() === '') return error(res, 400, 62, 'SYNTAX_ERROR', 'Empty query')
  const queryId = url.searchParams.get('query_id') ?? crypto.randomUUID()
  const sql = sets.length > 0 ? `${sets.join('; ')}; ${query}` : query
  const result = await client.exec({
    query: sql,
    query_id: queryId,
    ...(rows !== undefined && { values: Readable.from([rows]) }),
    // The engine's own default is CSV; the HTTP interface's is TabSeparated.
    clickhouse_settings: {
      default_format: (url.searchParams.get('default_format') ?? 'TabSeparated') as Format,
    },
  })
  const gzip =
    url.searchParams.get('enable_http_compression') === '1' &&
    /\bgzip\b/.test(String(req.headers['accept-encoding']))
  res.writeHead(200, {
    'content-type': 'text/plain; charset=UTF-8',
    'x-clickhouse-query-id': queryId,
    'x-clickhouse-timezone': 'UTC',
    'x-clickhouse-summary': JSON.stringify(result.summary ?? {}),
    ...(gzip && { 'content-encoding': 'gzip' }),
  })
  await (gzip ? pipeline(result.stream, createGzip(), res) : pipeline(result.stream, res))
}

function authorized(o: ChdbHttpServerOptions, req: IncomingMessage, url: URL): boolean {
  const user = o.user ?? 'default'
  const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')
  if (basic) return Buffer.from(basic[1]!, 'base64').toString('utf8') === `${user}:${o.password}`
  const u = req.headers['x-clickhouse-user'] ?? url.searchParams.get('user')
  const p = req.headers['x-clickhouse-key'] ?? url.searchParams.get('password')
  return u === user && p === o.password
}

/** The client reads an error from the body in the server's own words: keep chDB's message when it has it. */
function fail(res: ServerResponse, e: unknown): void {
  const cause = (e as { cause?: unknown }).cause
  const text = [cause, e]
    .map((x) => (x instanceof Error ? x.message : String(x)))
    .find((m) => /Code: \d+/.test(m))
  if (res.headersSent) {
    // The result was streaming: the client sees a cut body, as from a server that failed mid-answer.
    res.destroy(e instanceof Error ? e : new Error(String(e)))
    return
  }
  if (text !== undefined) {
    const code = /Code: (\d+)/.exec(text)![1]!
    res.writeHead(500, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': code })
    res.end(`${text}\n`)
    return
  }
  const m = e instanceof Error ? e.message : String(e)
  error(res, 500, 1001, 'STD_EXCEPTION', m)
}

function error(res: ServerResponse, status: number, code: number, type: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=UTF-8',
    'x-clickhouse-exception-code': String(code),
  })
  res.end(`Code: ${code}. DB::Exception: ${message}. (${type})\n`)
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((e) => (e ? reject(e) : resolve()))
    server.closeIdleConnections()
  })
}
