/**
 * What the browser tests stand on: the embedded platform in this process (it serves the SDK and takes
 * the events), real headless Chromium, a web server for test pages on an origin of its own, and a
 * recording proxy in front of the ingest API — so every byte the SDK sends, beacons on page close
 * included, can be inspected.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IngestBatch, WireEvent } from '@hm/actors'
import { loadConfig, type Platform, startPlatform } from '@hm/gateway'
import { type Browser, type BrowserContext, chromium } from 'playwright-core'

/** A desktop Chrome's User-Agent: headless Chromium's own says "HeadlessChrome", which is filtered as a bot. */
export const CHROME_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36'

export interface Recorded {
  path: string
  contentType: string | undefined
  body: string
  batch: IngestBatch | undefined
}

export interface Harness {
  platform: Platform
  browser: Browser
  /** Origin of the test pages (not the gateway's). */
  pagesOrigin: string
  /** Ingest endpoint through the recording proxy (a third origin). */
  proxyEndpoint: string
  /** Every request the proxy saw, in order. */
  recorded: Recorded[]
  /** Serves `html` at `path` on the pages origin. */
  page(path: string, html: string): string
  context(options?: { userAgent?: string; initScript?: string }): Promise<BrowserContext>
  stop(): Promise<void>
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  )
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = ''
    req.setEncoding('utf8')
    req.on('data', (d: string) => (s += d))
    req.on('end', () => resolve(s))
    req.on('error', reject)
  })
}

export async function startHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'hm-sdk-'))
  const platform = await startPlatform(
    loadConfig({
      HM_DATA_DIR: dir,
      HM_PORT: '0',
      HM_THREADS: '2',
      HM_SHARDS: '8',
      HM_FLUSH_INTERVAL_MS: '100',
      HM_DEMO_TRAFFIC: 'false',
      HM_LOG_LEVEL: 'warn',
    }),
  )
  const pages = new Map<string, string>()
  const pageServer = createServer((req, res) => {
    const html = pages.get((req.url ?? '').split(/[?#]/)[0]!)
    res.writeHead(html === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(html ?? 'no such page')
  })
  const recorded: Recorded[] = []
  const proxy = createServer(async (req, res) => {
    try {
      if (req.method === 'OPTIONS') {
        const r = await fetch(`${platform.url}${req.url}`, { method: 'OPTIONS' })
        res.writeHead(r.status, Object.fromEntries(r.headers))
        res.end()
        return
      }
      const body = await readBody(req)
      let batch: IngestBatch | undefined
      try {
        batch = JSON.parse(body) as IngestBatch
      } catch {}
      recorded.push({ path: req.url ?? '', contentType: req.headers['content-type'], body, batch })
      const headers: Record<string, string> = {}
      for (const h of ['content-type', 'user-agent', 'origin', 'dnt', 'sec-gpc']) {
        const v = req.headers[h]
        if (typeof v === 'string') headers[h] = v
      }
      const r = await fetch(`${platform.url}${req.url}`, { method: req.method, headers, body })
      res.writeHead(r.status, {
        'content-type': r.headers.get('content-type') ?? 'application/json',
        'access-control-allow-origin': r.headers.get('access-control-allow-origin') ?? '',
      })
      res.end(await r.text())
    } catch (e) {
      res.writeHead(502)
      res.end(String(e))
    }
  })
  const pagesOrigin = await listen(pageServer)
  const proxyOrigin = await listen(proxy)
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  })
  return {
    platform,
    browser,
    pagesOrigin,
    proxyEndpoint: `${proxyOrigin}/v1/events/collect`,
    recorded,
    page(path, html) {
      pages.set(path, html)
      return `${pagesOrigin}${path}`
    },
    async context(options = {}) {
      const ctx = await browser.newContext({
        userAgent: options.userAgent ?? CHROME_UA,
        viewport: { width: 1280, height: 800 },
      })
      if (options.initScript !== undefined) await ctx.addInitScript(options.initScript)
      return ctx
    },
    async stop() {
      await browser.close().catch(() => {})
      pageServer.close()
      proxy.close()
      await platform.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** A test page: `body` inside a 1280 px wide layout, with the SDK from the platform, posting through the proxy. */
export function testPage(h: Harness, body: string, attrs: Record<string, string> = {}): string {
  const a = Object.entries({ 'data-endpoint': h.proxyEndpoint, ...attrs })
    .map(([k, v]) => ` ${k}="${v}"`)
    .join('')
  return `<!doctype html><html><head><meta charset="utf-8"><title>t</title>
<style>body{margin:0;font:16px sans-serif}.box{position:absolute;width:200px;height:100px;background:#eee}</style>
<script src="${h.platform.url}/sdk/hm.js" data-site="${h.platform.demo!.siteKey}"${a} defer></script>
</head><body>${body}</body></html>`
}

/** Every event the proxy saw, with the requests that carried them. */
export function sentEvents(h: Harness): WireEvent[] {
  return h.recorded.flatMap((r) => r.batch?.events ?? [])
}

export async function heatmap(
  h: Harness,
  page: string,
  type: string,
): Promise<{ total: number; cells: Array<[number, number, number]> }> {
  const { siteId, apiKey } = h.platform.demo!
  const qs = new URLSearchParams({ page, type })
  const r = await fetch(`${h.platform.url}/v1/sites/${siteId}/heatmap?${qs}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  })
  if (r.status !== 200) throw new Error(`heatmap ${r.status}: ${await r.text()}`)
  return (await r.json()) as { total: number; cells: Array<[number, number, number]> }
}

/** Polls `probe` until `done` holds (or 20 s pass, which fails with the last value). */
export async function until<T>(probe: () => Promise<T> | T, done: (v: T) => boolean): Promise<T> {
  const end = Date.now() + 20_000
  for (;;) {
    const v = await probe()
    if (done(v)) return v
    if (Date.now() > end) throw new Error(`not reached in 20 s; last: ${JSON.stringify(v).slice(0, 400)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
