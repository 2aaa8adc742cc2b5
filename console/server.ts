/**
 * The console as a service of its own (compose, Nomad): serves the built console under `/console/`
 * and passes the API paths — HTTP and WebSocket alike — to a gateway, so the app still talks to its own
 * origin (no CORS, and the live socket's token never crosses origins).
 */
import { readFile } from 'node:fs/promises'
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as netConnect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { connect as tlsConnect } from 'node:tls'
import { consoleBase, consoleOutputDir, consolePageHeaders, resolveConsoleAsset } from './index.ts'

export interface ConsoleServerOptions {
  host: string
  port: number
  /** The gateway the API calls go to, `http(s)://host:port`. */
  gatewayUrl: string
  /** The console's static build (default: this package's `dist/public`). */
  outputDir?: string
}

/** Paths answered by the gateway: its APIs, the SDK the snippet loads, the API docs. */
const proxied = ['/v1/', '/sdk/', '/docs', '/metrics']
const isProxied = (url: string): boolean => proxied.some((p) => url.startsWith(p))

/** Hop-by-hop headers are for one connection only (RFC 9110 §7.6.1); they are not passed on. */
const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

function forwardHeaders(req: IncomingMessage, gateway: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !hopByHop.has(k)) out[k] = v
  out.host = gateway.host
  const peer = req.socket.remoteAddress ?? ''
  const prior = req.headers['x-forwarded-for']
  out['x-forwarded-for'] = prior ? `${String(prior)}, ${peer}` : peer
  out['x-forwarded-host'] = req.headers.host ?? ''
  out['x-forwarded-proto'] = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http'
  return out
}

/** Starts the server; resolves once it listens, with its URL. */
export async function startConsoleServer(
  o: ConsoleServerOptions,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const gateway = new URL(o.gatewayUrl)
  const secure = gateway.protocol === 'https:'
  const gatewayPort = Number(gateway.port) || (secure ? 443 : 80)
  const outputDir = o.outputDir ?? consoleOutputDir
  /** Open WebSocket tunnels: the HTTP server no longer tracks a socket once it is upgraded. */
  const tunnels = new Set<Duplex>()

  const server = createServer((req, res) => {
    const url = req.url ?? '/'
    if (isProxied(url)) {
      const upstream = (secure ? httpsRequest : httpRequest)(
        {
          host: gateway.hostname,
          port: gatewayPort,
          method: req.method,
          path: url,
          headers: forwardHeaders(req, gateway),
        },
        (r) => {
          const headers = Object.fromEntries(Object.entries(r.headers).filter(([k]) => !hopByHop.has(k)))
          res.writeHead(r.statusCode ?? 502, headers)
          r.pipe(res)
        },
      )
      upstream.on('error', (err) => {
        console.error(`[console] gateway ${gateway.origin} unreachable: ${err.message}`)
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' })
          res.end(`the gateway at ${gateway.origin} did not answer`)
        } else res.destroy()
      })
      req.pipe(upstream)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' })
      res.end()
      return
    }
    const path = url.split('?')[0]!
    if (path === '/' || path === consoleBase) {
      res.writeHead(302, { location: `${consoleBase}/` })
      res.end()
      return
    }
    if (!path.startsWith(`${consoleBase}/`)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('not found')
      return
    }
    void (async () => {
      const asset = await resolveConsoleAsset(path.slice(consoleBase.length), outputDir)
      if (asset === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('not found')
        return
      }
      const body = await readFile(asset.file)
      res.writeHead(200, {
        'content-type': asset.contentType,
        'cache-control': asset.cacheControl,
        'content-length': body.length,
        ...(asset.contentType.startsWith('text/html') ? consolePageHeaders : {}),
      })
      res.end(req.method === 'HEAD' ? undefined : body)
    })().catch((err: unknown) => {
      console.error('[console] cannot serve', path, err)
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('the console is not built: run npm run build:console')
    })
  })

  // WebSockets (the live stream): the upgrade request goes to the gateway as it came, then bytes flow
  // both ways untouched.
  server.on('upgrade', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const url = req.url ?? '/'
    if (!isProxied(url)) {
      client.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n')
      return
    }
    const upstream: Socket = secure
      ? tlsConnect({ host: gateway.hostname, port: gatewayPort, servername: gateway.hostname })
      : netConnect({ host: gateway.hostname, port: gatewayPort })
    const ready = secure ? 'secureConnect' : 'connect'
    upstream.once(ready, () => {
      const headers = forwardHeaders(req, gateway)
      headers.connection = 'Upgrade'
      headers.upgrade = req.headers.upgrade ?? 'websocket'
      const lines = [`${req.method} ${url} HTTP/1.1`]
      for (const [k, v] of Object.entries(headers))
        for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`)
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      if (head.length > 0) upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    tunnels.add(client)
    tunnels.add(upstream)
    const close = () => {
      upstream.destroy()
      client.destroy()
      tunnels.delete(client)
      tunnels.delete(upstream)
    }
    upstream.on('error', (err) => {
      console.error(`[console] gateway ${gateway.origin} unreachable for a WebSocket: ${err.message}`)
      close()
    })
    client.on('error', close)
    upstream.on('close', close)
    client.on('close', close)
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : o.port
  const shownHost = o.host === '0.0.0.0' || o.host === '::' ? 'localhost' : o.host
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    server,
    /** Stops listening and ends every connection, open WebSockets included. */
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        for (const t of tunnels) t.destroy()
        tunnels.clear()
      }),
  }
}
