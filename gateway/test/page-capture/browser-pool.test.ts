/**
 * The gateway's Chromium against real HTTP servers on 127.0.0.1: nothing a captured page asks for gets
 * past the address policy (redirects and resources included), nothing it sends as it is torn down gets
 * out at all, and a browser that cannot start is a clear 503.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { decodePng } from '../../../actors/test/helpers/png.ts'
import type { AddressPolicy } from '../../src/page-capture/address-policy.ts'
import { BrowserPool } from '../../src/page-capture/browser-pool.ts'

let site: Server
let internal: Server
let siteOrigin: string
let internalOrigin: string
/** Requests each server saw, as `METHOD /path`. */
const siteSeen: string[] = []
const internalSeen: string[] = []

const listen = async (s: Server): Promise<string> => {
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}

before(async () => {
  // Something private beside the gateway (an admin UI, a database's HTTP port): red if it ever shows.
  internal = createServer((req, res) => {
    internalSeen.push(`${req.method} ${req.url}`)
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<body style="margin:0;background:rgb(255,0,0)">secret</body>')
  })
  internalOrigin = await listen(internal)
  site = createServer((req, res) => {
    siteSeen.push(`${req.method} ${req.url}`)
    req.resume()
    const html = (body: string) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end(`<!doctype html><body style="margin:0;height:1200px;background:rgb(0,0,255)">${body}</body>`)
    }
    switch (req.url) {
      case '/moved':
        res.writeHead(301, { location: '/landing' })
        return res.end()
      case '/landing':
        return html('<img src="pixel.png">')
      case '/to-internal':
        res.writeHead(302, { location: `${internalOrigin}/admin` })
        return res.end()
      case '/embeds-internal':
        return html(
          `<iframe src="${internalOrigin}/admin" style="width:400px;height:300px;border:0"></iframe>
           <img src="${internalOrigin}/secret.png">
           <script>fetch('${internalOrigin}/api').catch(() => {})</script>`,
        )
      case '/leaves-beacons':
        // What an analytics script does as the page goes: all of it at teardown, after the screenshot.
        return html(`<script>
          const send = () => {
            navigator.sendBeacon('/v1/events/collect', JSON.stringify({ siteKey: 'k', batchId: 'b' }))
            navigator.sendBeacon('/collect-elsewhere', 'x')
          }
          addEventListener('pagehide', send)
          document.addEventListener('visibilitychange', send)
        </script>`)
      default:
        res.writeHead(404)
        return res.end()
    }
  })
  siteOrigin = await listen(site)
})

after(async () => {
  await new Promise<void>((r) => site.close(() => r()))
  await new Promise<void>((r) => internal.close(() => r()))
})

describe('what a captured page may reach', { timeout: 120_000 }, () => {
  const pool = new BrowserPool()
  after(() => pool.close())
  /** The site is the gateway's own port: reachable, while every other private address is not. */
  const policy = (): AddressPolicy => ({ privateNetwork: false, selfPort: Number(new URL(siteOrigin).port) })

  test('a redirect of the page is followed, and the page is shot at its new address', async () => {
    const shot = await pool.capture(`${siteOrigin}/moved`, 640, policy())
    const png = decodePng(shot.png)
    assert.equal(png.width, 640)
    assert.deepEqual(png.pixel(320, 600).slice(0, 3), [0, 0, 255])
    // The image's relative URL resolved against the new address.
    assert.ok(siteSeen.includes('GET /pixel.png'), siteSeen.join(', '))
  })

  test('a redirect into the private network is refused as such, and the private server is never asked', async () => {
    await assert.rejects(pool.capture(`${siteOrigin}/to-internal`, 640, policy()), {
      code: 'HM_ERR_PAGE_PRIVATE_ADDRESS',
    })
    assert.deepEqual(internalSeen, [])
  })

  test('frames, images and fetches of private addresses are dropped; the page itself is shot', async () => {
    const png = decodePng((await pool.capture(`${siteOrigin}/embeds-internal`, 640, policy())).png)
    assert.deepEqual(internalSeen, [], 'the private server was never asked')
    // Where the frame is, no red (its content) shows.
    const [r, g, b] = png.pixel(200, 150)
    assert.ok(!(r > 200 && g < 50 && b < 50), `the private page shows: ${r},${g},${b}`)
  })

  test('beacons a page sends as it is torn down reach nothing', async () => {
    const before = siteSeen.length
    await pool.capture(`${siteOrigin}/leaves-beacons`, 640, policy())
    // A second capture later: the first one's teardown is long over by the time it has run.
    await pool.capture(`${siteOrigin}/landing`, 640, policy())
    const posts = siteSeen.slice(before).filter((s) => s.startsWith('POST'))
    assert.deepEqual(posts, [])
  })
})

describe('without a browser', () => {
  test('a Chromium that cannot start is a 503 with its own code, and is not started on every request', async () => {
    const pool = new BrowserPool({ executablePath: '/nonexistent/chromium' })
    const capture = () =>
      pool.capture(`${siteOrigin}/landing`, 640, { privateNetwork: true, selfPort: undefined })
    try {
      await assert.rejects(capture(), (e: { code: string; statusCode: number; message: string }) => {
        assert.equal(e.code, 'HM_ERR_SCREENSHOT_UNAVAILABLE')
        assert.equal(e.statusCode, 503)
        assert.match(e.message, /\/nonexistent\/chromium/)
        return true
      })
      await assert.rejects(capture(), { code: 'HM_ERR_SCREENSHOT_UNAVAILABLE' })
    } finally {
      await pool.close()
    }
  })
})
