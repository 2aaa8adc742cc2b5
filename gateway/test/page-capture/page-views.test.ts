/**
 * The page behind heatmaps through the whole gateway (embedded platform, real Chromium): the frame check
 * and screenshots of pages served by real HTTP servers on 127.0.0.1, the store in front of Chromium, the
 * refusals that keep the gateway from being a proxy, and the SDK of a captured page kept from ingestion.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { sdkBundlePath } from '@hm/sdk'
import { chromium } from 'playwright-core'
import { decodePng } from '../../../actors/test/helpers/png.ts'
import { startTestPlatform } from '../helpers/platform.ts'

const PINK = [255, 0, 128]
const GREEN = [0, 160, 0]
/** A block at 50,100 (200×100 px): pink at widths of 600 px and more, green below (a media query). */
const BLOCK = `<div id="block" style="position:absolute;left:50px;top:100px;width:200px;height:100px"></div>
<style>#block{background:rgb(${PINK})}@media (max-width:599px){#block{background:rgb(${GREEN})}}</style>`
const page = (height: number, extra = '') =>
  `<!doctype html><html><body style="margin:0;height:${height}px">${BLOCK}${extra}</body></html>`

let pages: Server
let origin: string
/** Requests the page server saw, as `METHOD /path`. */
const seen: string[] = []
const count = (what: string) => seen.filter((s) => s === what).length
/** The site key of each batch that reached the page server's ingest endpoint. */
const ingested: string[] = []

let platform: Awaited<ReturnType<typeof startTestPlatform>>
let base: string
let token: string
let siteId: string

async function call(path: string, headers: Record<string, string> = {}) {
  const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } })
  const body = Buffer.from(await r.arrayBuffer())
  return { status: r.status, headers: r.headers, body, json: () => JSON.parse(body.toString('utf8')) }
}

const pageView = (site: string, url: string, headers?: Record<string, string>) =>
  call(`/v1/sites/${site}/page-view?url=${encodeURIComponent(url)}`, headers)
const screenshot = (site: string, url: string, width: number) =>
  call(`/v1/sites/${site}/screenshot?url=${encodeURIComponent(url)}&width=${width}`)

/** Waits until `done` holds (a visitor's browser posting is asynchronous); fails after 15 s. */
async function until(done: () => boolean): Promise<void> {
  const end = Date.now() + 15_000
  while (!done()) {
    if (Date.now() > end) throw new Error('not reached in 15 s')
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A counter of the gateway's /metrics (0 when it has no sample yet). */
async function metric(name: string, label: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text()
  const m = new RegExp(`^${name}\\{${label}\\} (\\d+)`, 'm').exec(text)
  return m === null ? 0 : Number(m[1])
}

async function createSite(body: Record<string, unknown>): Promise<string> {
  const r = await fetch(`${base}/v1/sites`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  assert.equal(r.status, 201, await r.clone().text())
  return ((await r.json()) as { id: string }).id
}

before(async () => {
  if (!existsSync(sdkBundlePath)) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'sdk/build.ts'], {
      cwd: new URL('../../..', import.meta.url).pathname,
      encoding: 'utf8',
    })
    assert.equal(r.status, 0, r.stderr)
  }
  const sdk = readFileSync(sdkBundlePath)
  pages = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    const html = (body: string, headers: Record<string, string> = {}) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers })
      res.end(body)
    }
    switch (req.url) {
      case '/shot':
        return html(page(3000), { 'x-frame-options': 'DENY' })
      case '/framed':
        return html(page(1500))
      case '/tall':
        return html(page(14_000), { 'content-security-policy': "frame-ancestors 'none'" })
      case '/sdk/visitor':
      case '/sdk/captured':
        // The real SDK, posting to this server under the path's site key; flushed once the page has loaded.
        return html(
          page(
            1200,
            `<script src="/sdk/hm.js" data-site="site_${req.url.slice(5)}"></script>
             <script>addEventListener('load', () => setTimeout(() => window.hm.flush(), 50))</script>`,
          ),
        )
      case '/sdk/hm.js':
        res.writeHead(200, { 'content-type': 'text/javascript' })
        return res.end(sdk)
      default: {
        const chunks: Buffer[] = []
        req.on('data', (c: Buffer) => chunks.push(c))
        req.on('end', () => {
          if (req.url === '/v1/events/collect') {
            const { siteKey } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { siteKey: string }
            ingested.push(siteKey)
          }
          res.writeHead(req.method === 'POST' ? 202 : 404, { 'access-control-allow-origin': '*' })
          res.end()
        })
        return
      }
    }
  })
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r))
  origin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`

  platform = await startTestPlatform({ HM_PAGE_PRIVATE_NETWORK: 'true', HM_SCREENSHOT_TTL_S: '3600' })
  base = platform.platform.url
  const demo = platform.platform.demo!
  const login = await fetch(`${base}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: demo.email, password: demo.password }),
  })
  token = ((await login.json()) as { accessToken: string }).accessToken
  // An intranet website: its domain is a private address, which HM_PAGE_PRIVATE_NETWORK lets through.
  siteId = await createSite({ name: 'intranet', domain: '127.0.0.1' })
})

after(async () => {
  await platform?.stop()
  await new Promise<void>((r) => pages?.close(() => r()))
})

describe('the page behind a heatmap', { timeout: 180_000 }, () => {
  test('page-view: framing as the page`s headers allow it for the console`s origin', async () => {
    const framed = await pageView(siteId, `${origin}/framed`)
    assert.equal(framed.status, 200, framed.body.toString())
    assert.deepEqual(framed.json(), {
      url: `${origin}/framed`,
      width: 1280,
      frameable: true,
      reason: 'no X-Frame-Options or frame-ancestors',
      screenshots: true,
    })
    const denied = (await pageView(siteId, `${origin}/shot?user=someone@example.com`)).json()
    assert.equal(denied.frameable, false)
    assert.equal(denied.reason, 'X-Frame-Options: DENY')
    // The query string was never sent to the page's server.
    assert.ok(!seen.some((s) => s.includes('someone')), 'no query string left the gateway')
    // The console's origin is the one a frame would sit in.
    const csp = await pageView(siteId, `${origin}/tall`, { origin: 'https://console.example' })
    assert.match(csp.json().reason, /frame-ancestors 'none' does not allow https:\/\/console\.example/)
  })

  test('screenshot: a PNG of the whole page at the requested width, showing the page', async () => {
    const before = await metric('hm_page_captures_total', 'result="ok"')
    const wide = await screenshot(siteId, `${origin}/shot`, 800)
    assert.equal(wide.status, 200, wide.body.toString())
    assert.equal(wide.headers.get('content-type'), 'image/png')
    assert.equal(wide.headers.get('x-screenshot'), 'miss')
    const png = decodePng(wide.body)
    assert.equal(png.width, 800)
    assert.equal(png.height, 3000, 'the whole document, not one screen')
    assert.equal(wide.headers.get('x-page-height'), '3000')
    assert.deepEqual(png.pixel(150, 150).slice(0, 3), PINK)
    assert.deepEqual(png.pixel(400, 150).slice(0, 3), [255, 255, 255])
    // At a phone's width the page's own media query applies: it was laid out at that width.
    const narrow = decodePng((await screenshot(siteId, `${origin}/shot`, 390)).body)
    assert.equal(narrow.width, 390)
    assert.deepEqual(narrow.pixel(150, 150).slice(0, 3), GREEN)
    assert.equal(await metric('hm_page_captures_total', 'result="ok"'), before + 2)
  })

  test('a page longer than 10,000 px is cut there; its full height is told', async () => {
    const r = await screenshot(siteId, `${origin}/tall`, 1024)
    assert.equal(r.status, 200)
    assert.equal(decodePng(r.body).height, 10_000)
    assert.equal(r.headers.get('x-page-height'), '14000')
  })

  test('the second request is served from the store: no second capture', async () => {
    const captures = await metric('hm_page_captures_total', 'result="ok"')
    const loads = count('GET /shot')
    const again = await screenshot(siteId, `${origin}/shot`, 800)
    assert.equal(again.status, 200)
    assert.equal(again.headers.get('x-screenshot'), 'hit')
    assert.equal(decodePng(again.body).width, 800)
    assert.equal(count('GET /shot'), loads, 'the page was not loaded again')
    assert.equal(await metric('hm_page_captures_total', 'result="ok"'), captures)
    // The frame check knows the page's height from the stored screenshot.
    assert.equal(
      (await pageView(siteId, `${origin}/shot`)).json().pageHeight,
      undefined,
      'width 1280 not shot',
    )
    const at800 = await call(
      `/v1/sites/${siteId}/page-view?url=${encodeURIComponent(`${origin}/shot`)}&width=800`,
    )
    assert.equal(at800.json().pageHeight, 3000)
  })

  test('requests for the same page at once share one capture', async () => {
    const captures = await metric('hm_page_captures_total', 'result="ok"')
    const loads = count('GET /framed')
    const answers = await Promise.all([1, 2, 3].map(() => screenshot(siteId, `${origin}/framed`, 700)))
    for (const a of answers) assert.equal(a.status, 200)
    assert.deepEqual(
      answers.map((a) => a.body.equals(answers[0]!.body)),
      [true, true, true],
    )
    assert.equal(count('GET /framed'), loads + 1)
    assert.equal(await metric('hm_page_captures_total', 'result="ok"'), captures + 1)
  })

  test('URLs off the website are refused before anything is fetched', async () => {
    const before = seen.length
    for (const url of ['https://example.com/', 'http://169.254.169.254/latest/meta-data/']) {
      for (const r of [await pageView(siteId, url), await screenshot(siteId, url, 800)]) {
        assert.equal(r.status, 400, url)
        assert.equal(r.json().error.code, 'HM_ERR_PAGE_OFF_SITE')
        assert.match(r.json().error.message, /is not 127\.0\.0\.1 or one of the website's allowed origins/)
      }
    }
    // A public website that lists the page server's origin still may not reach a private address.
    const publicSite = await createSite({ name: 'public', domain: 'shop.example', allowedOrigins: [origin] })
    for (const r of [
      await pageView(publicSite, `${origin}/framed`),
      await screenshot(publicSite, `${origin}/framed`, 800),
    ]) {
      assert.equal(r.status, 403)
      assert.equal(r.json().error.code, 'HM_ERR_PAGE_PRIVATE_ADDRESS')
    }
    assert.equal(seen.length, before, 'the page server was never asked')
    // Another organisation's site, or none: the same 404 as every query route.
    const missing = await pageView('00000000-0000-4000-8000-000000000000', `${origin}/framed`)
    assert.equal(missing.status, 404)
    assert.equal(missing.json().error.code, 'HM_ERR_QUERY_NOT_FOUND')
    const badWidth = await screenshot(siteId, `${origin}/framed`, 20)
    assert.equal(badWidth.status, 400)
    assert.equal(badWidth.json().error.code, 'HM_ERR_QUERY_BAD_PARAM')
    assert.match(badWidth.json().error.message, /width/)
  })

  test('the SDK on a captured page runs, but none of its posts reach ingestion', async () => {
    // In a visitor's browser the page posts its batch to the ingest endpoint.
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' })
    try {
      const visitor = await browser.newPage()
      await visitor.goto(`${origin}/sdk/visitor`)
      await until(() => ingested.includes('site_visitor'))
    } finally {
      await browser.close()
    }
    const blocked = await metric('hm_page_capture_blocked_requests_total', 'reason="sdk"')
    const scripts = count('GET /sdk/hm.js')
    const shot = await screenshot(siteId, `${origin}/sdk/captured`, 1280)
    assert.equal(shot.status, 200)
    assert.equal(count('GET /sdk/hm.js'), scripts + 1, 'the captured page loaded the SDK')
    assert.ok(
      (await metric('hm_page_capture_blocked_requests_total', 'reason="sdk"')) > blocked,
      'the SDK posted during the capture and was stopped',
    )
    assert.deepEqual(
      ingested.filter((k) => k === 'site_captured'),
      [],
      'no batch of the captured page reached the ingest endpoint',
    )
  })

  test('both routes are in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${base}/docs/json`)).json()) as { paths: Record<string, unknown> }
    for (const path of ['/v1/sites/{siteId}/page-view', '/v1/sites/{siteId}/screenshot'])
      assert.ok(path in doc.paths, path)
  })

  test('the embedded demo site: at the gateway`s own address, framed and shot', async () => {
    const demoSite = platform.platform.demo!.siteId
    const view = (await pageView(demoSite, '/demo')).json()
    assert.equal(view.url, `${base}/demo`)
    assert.equal(view.frameable, true)
    const shot = await screenshot(demoSite, '/demo', 1280)
    assert.equal(shot.status, 200, shot.body.toString())
    const png = decodePng(shot.body)
    assert.equal(png.width, 1280)
    assert.equal(png.height, 2400)
    // The hero's primary button (440,420 190×56) is the demo's indigo.
    const [r, g, b] = png.pixel(450, 430)
    assert.ok(Math.abs(r - 79) < 12 && Math.abs(g - 70) < 12 && Math.abs(b - 229) < 12, `${r},${g},${b}`)
  })
})
