/**
 * The frame decision against real HTTP servers on 127.0.0.1 that send (or omit) X-Frame-Options and CSP
 * frame-ancestors, the way a browser would decide it for a console at a given origin.
 */
import assert from 'node:assert/strict'
import { createServer, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { chromium } from 'playwright-core'
import type { AddressPolicy } from '../../src/page-capture/address-policy.ts'
import { checkFraming } from '../../src/page-capture/frame-check.ts'

/** path → [status, headers] of the page server. */
const pages: Record<string, [number, OutgoingHttpHeaders]> = {
  '/plain': [200, {}],
  '/deny': [200, { 'x-frame-options': 'DENY' }],
  '/sameorigin': [200, { 'x-frame-options': 'SAMEORIGIN' }],
  '/allow-from': [200, { 'x-frame-options': 'ALLOW-FROM https://console.example' }],
  '/csp-none': [200, { 'content-security-policy': "default-src 'self'; frame-ancestors 'none'" }],
  '/csp-self': [200, { 'content-security-policy': "frame-ancestors 'self'" }],
  '/csp-console': [200, { 'content-security-policy': 'frame-ancestors https://console.example' }],
  '/csp-wildcard': [200, { 'content-security-policy': 'frame-ancestors https://*.example' }],
  '/csp-loopback-any-port': [200, { 'content-security-policy': 'frame-ancestors http://127.0.0.1:*' }],
  // CSP frame-ancestors wins over X-Frame-Options.
  '/csp-over-xfo': [
    200,
    { 'content-security-policy': 'frame-ancestors https://console.example', 'x-frame-options': 'DENY' },
  ],
  // Two policies (as two headers would be joined): both must allow.
  '/two-policies': [200, { 'content-security-policy': "frame-ancestors *, frame-ancestors 'self'" }],
  '/report-only': [200, { 'content-security-policy-report-only': "frame-ancestors 'none'" }],
  '/moved': [302, { location: '/deny' }],
  '/missing': [404, {}],
}

/** A console stand-in: a page framing `?src=`, to ask Chromium itself what it decides. */
function hostPage(url: string, res: ServerResponse): void {
  const src = new URL(url, 'http://x').searchParams.get('src')!
  res.writeHead(200, { 'content-type': 'text/html' })
  res.end(`<!doctype html><iframe id="f" src="${src}"></iframe>`)
}

let server: Server
let origin: string
let port: number
const hits: string[] = []

before(async () => {
  server = createServer((req, res) => {
    hits.push(req.url!)
    if (req.url!.startsWith('/host?')) return hostPage(req.url!, res)
    const [status, headers] = pages[req.url!] ?? [404, {}]
    res.writeHead(status, { 'content-type': 'text/html', ...headers })
    res.end('<!doctype html><p>page</p>')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as AddressInfo).port
  origin = `http://127.0.0.1:${port}`
})
after(() => new Promise<void>((r) => server.close(() => r())))

const intranet: AddressPolicy = { privateNetwork: true, selfPort: undefined }
const decide = (path: string, consoleAt: string, policy = intranet) =>
  checkFraming(`${origin}${path}`, `${origin}${path}`, new URL(consoleAt), policy)

describe('may the console frame the page', () => {
  const elsewhere = 'https://console.example'
  const cases: Array<[string, string | 'same', boolean, RegExp]> = [
    ['/plain', elsewhere, true, /no X-Frame-Options or frame-ancestors/],
    ['/deny', 'same', false, /X-Frame-Options: DENY/],
    ['/sameorigin', 'same', true, /SAMEORIGIN/],
    ['/sameorigin', elsewhere, false, /SAMEORIGIN/],
    ['/allow-from', 'https://other.example', true, /no X-Frame-Options/],
    ['/csp-none', 'same', false, /frame-ancestors 'none'/],
    ['/csp-self', 'same', true, /allows/],
    ['/csp-self', elsewhere, false, /does not allow https:\/\/console\.example/],
    ['/csp-console', elsewhere, true, /allows/],
    ['/csp-console', 'http://console.example', false, /does not allow/],
    ['/csp-console', 'https://console.example:8443', false, /does not allow/],
    ['/csp-wildcard', 'https://eu.console.example', true, /allows/],
    ['/csp-wildcard', 'https://example', false, /does not allow/],
    ['/csp-loopback-any-port', 'http://127.0.0.1:4321', true, /allows/],
    ['/csp-over-xfo', elsewhere, true, /allows/],
    ['/two-policies', elsewhere, false, /frame-ancestors 'self'/],
    ['/two-policies', 'same', true, /allows/],
    ['/report-only', elsewhere, true, /no X-Frame-Options/],
    // The redirect's target decides: the frame would end up there.
    ['/moved', 'same', false, /X-Frame-Options: DENY/],
  ]
  for (const [path, consoleAt, frameable, reason] of cases) {
    test(`${path} in a console at ${consoleAt}: ${frameable ? 'framed' : 'not framed'}`, async () => {
      const d = await decide(path, consoleAt === 'same' ? origin : consoleAt)
      assert.equal(d.frameable, frameable, d.reason)
      assert.match(d.reason, reason)
    })
  }

  test('a page answering 404 is an error naming the status, neither framed nor shot', async () => {
    await assert.rejects(decide('/missing', origin), (e: { code: string; message: string }) => {
      assert.equal(e.code, 'HM_ERR_PAGE_UNREACHABLE')
      assert.match(e.message, /answered 404/)
      return true
    })
  })

  test('a closed port is unreachable, not a crash', async () => {
    const probe = createServer()
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r))
    const closed = (probe.address() as AddressInfo).port
    await new Promise<void>((r) => probe.close(() => r()))
    await assert.rejects(
      checkFraming(`http://127.0.0.1:${closed}/`, `http://127.0.0.1:${closed}/`, new URL(origin), intranet),
      { code: 'HM_ERR_PAGE_UNREACHABLE' },
    )
  })
})

describe('the address policy holds for the check and its redirects', () => {
  test('without the private network allowance a loopback page is refused before any request', async () => {
    const before = hits.length
    await assert.rejects(decide('/plain', origin, { privateNetwork: false, selfPort: undefined }), {
      code: 'HM_ERR_PAGE_PRIVATE_ADDRESS',
    })
    assert.equal(hits.length, before, 'nothing was sent')
  })

  test('the gateway`s own port is reachable; a redirect from there to another private port is not', async () => {
    const self: AddressPolicy = { privateNetwork: false, selfPort: port }
    assert.equal((await decide('/plain', origin, self)).frameable, true)
    const other = createServer((_req, res) => res.end('internal'))
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r))
    const internal = `http://127.0.0.1:${(other.address() as AddressInfo).port}/admin`
    pages['/to-internal'] = [302, { location: internal }]
    let reached = false
    other.on('request', () => {
      reached = true
    })
    try {
      await assert.rejects(decide('/to-internal', origin, self), { code: 'HM_ERR_PAGE_PRIVATE_ADDRESS' })
      assert.equal(reached, false, 'the internal server was never asked')
    } finally {
      await new Promise<void>((r) => other.close(() => r()))
    }
  })
})

describe('Chromium decides as the check does', () => {
  test('each page framed by a console on its own origin and on another one', async () => {
    // A second origin for the console: the same machine by another name.
    const other = createServer((req, res) => hostPage(req.url!, res))
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r))
    const otherOrigin = `http://localhost:${(other.address() as AddressInfo).port}`
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' })
    try {
      const page = await browser.newPage()
      const paths = Object.keys(pages).filter((p) => pages[p]![0] < 400 && !p.startsWith('/to-'))
      const disagreements: string[] = []
      for (const consoleAt of [origin, otherOrigin]) {
        for (const path of paths) {
          await page.goto(`${consoleAt}/host?src=${encodeURIComponent(`${origin}${path}`)}`)
          const frame = await (await page.$('#f'))!.contentFrame()
          await frame!.waitForLoadState('load')
          const shown = !frame!.url().startsWith('chrome-error://')
          const { frameable } = await decide(path, consoleAt)
          if (shown !== frameable)
            disagreements.push(`${path} in ${consoleAt}: Chromium ${shown}, check ${frameable}`)
        }
      }
      assert.deepEqual(disagreements, [])
    } finally {
      await browser.close()
      await new Promise<void>((r) => other.close(() => r()))
    }
  })
})
