/**
 * The live-site overlay in real headless Chromium: opened on a demo page with the owner's credentials in
 * the fragment, it reads the query API and paints the heatmap where the clicks were — checked by pixels.
 */
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import { type Harness, heatmap, startHarness, until } from './harness.ts'

let h: Harness
before(async () => {
  h = await startHarness()
})
after(async () => {
  await h?.stop()
})

// `window.hm` and `window.hmOverlay` are typed by the scripts themselves (src/capture.ts, src/overlay.ts).
function clicks(n: number, x: number, y: number): WireEvent[] {
  return Array.from({ length: n }, () => ({
    type: 'click' as const,
    ts: Date.now() - 1000,
    url: 'https://lumen.example/demo/pricing',
    vw: 1280,
    vh: 800,
    dw: 1280,
    dh: 2600,
    x,
    y,
  }))
}

test('the overlay paints the page’s heatmap over the real page, for its owner only', async () => {
  const { siteKey, siteId, apiKey } = h.platform.demo!
  // A hot spot on the pricing title and a cold one lower left.
  const r = await fetch(`${h.platform.url}/v1/events/collect`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      siteKey,
      batchId: 'overlay-0001',
      visitorId: 'v',
      sessionId: 's',
      events: [...clicks(30, 640, 164), ...clicks(5, 200, 600)],
    }),
  })
  assert.equal(r.status, 202)
  await until(
    () => heatmap(h, '/demo/pricing', 'click'),
    (m) => m.total >= 35,
  )

  const ctx = await h.context()
  const page = await ctx.newPage()
  const requests: Array<{ url: string; auth: string | undefined }> = []
  page.on('request', (q) => requests.push({ url: q.url(), auth: q.headers().authorization }))
  await page.goto(`${h.platform.url}/demo/pricing#hm-overlay=${siteId}:${apiKey}`)
  await page.waitForFunction(() => window.hmOverlay?.state === 'drawn')

  // The credentials left the address bar (kept for the tab only), and the API call carried them.
  assert.equal(await page.evaluate(() => location.hash), '')
  assert.equal(await page.evaluate(() => sessionStorage.getItem('hm_overlay')), `${siteId}:${apiKey}`)
  const api = requests.find((q) => q.url.includes('/heatmap?'))!
  assert.equal(api.auth, `Bearer ${apiKey}`)
  assert.match(api.url, /page=%2Fdemo%2Fpricing&type=click&viewport=desktop/)
  assert.equal(await page.evaluate(() => window.hmOverlay!.total), 35)
  assert.match((await page.locator('#hm-overlay-bar').textContent()) ?? '', /35 on \/demo\/pricing/)

  const pixel = (x: number, y: number) =>
    page.evaluate(
      ([px, py]) => {
        const c = document.getElementById('hm-overlay-canvas') as HTMLCanvasElement
        return Array.from(c.getContext('2d')!.getImageData(px!, py!, 1, 1).data)
      },
      [x, y],
    )
  // Cell centres: x (64.5/128 and 20.5/128 of 1280 px), y (band 10 and 37 of 16 px, plus half a band).
  const [hr, hg, hb, ha] = await pixel(645, 168)
  const [cr, , cb, ca] = await pixel(205, 600)
  const empty = await pixel(1100, 700)
  assert.ok(ha! > 0 && ca! > 0, `hot ${ha}, cold ${ca}`)
  assert.ok(ha! > ca!, 'the hot spot is more opaque than the cold one')
  assert.ok(hr! > hb! && hr! >= hg!, `the hot spot is red: ${[hr, hg, hb]}`)
  assert.ok(cb! > cr!, `the cold spot is blue: ${[cr, cb]}`)
  assert.deepEqual(empty, [0, 0, 0, 0])

  // Scrolled, the heat moves with the page.
  await page.evaluate(() => window.scrollTo(0, 100))
  await page.waitForFunction(() => window.scrollY === 100)
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
  assert.ok((await pixel(645, 68))[3]! > 0)
  assert.equal((await pixel(645, 168 + 60))[3], 0)

  // The owner looking is not a visitor: the capture script sent nothing from this page.
  await page.evaluate(() => window.hm!.flush())
  await page.mouse.click(400, 400)
  await page.evaluate(() => window.hm!.flush())
  assert.deepEqual(
    requests.filter((q) => q.url.includes('/v1/events/')),
    [],
  )

  // Another kind; then closed: gone, credentials forgotten.
  await page.evaluate(() => window.hmOverlay!.show('attention'))
  assert.equal(await page.evaluate(() => window.hmOverlay!.state), 'drawn')
  await page.locator('#hm-overlay-bar button').click()
  assert.equal(await page.locator('#hm-overlay-canvas').count(), 0)
  assert.equal(await page.evaluate(() => sessionStorage.getItem('hm_overlay')), null)
  await ctx.close()
})

test('without credentials the overlay is never loaded', async () => {
  const ctx = await h.context()
  const page = await ctx.newPage()
  const scripts: string[] = []
  page.on('request', (q) => scripts.push(q.url()))
  await page.goto(`${h.platform.url}/demo/pricing`)
  await page.waitForFunction(() => window.hm !== undefined)
  assert.equal(
    scripts.some((u) => u.endsWith('/sdk/overlay.js')),
    false,
  )
  assert.equal(await page.evaluate(() => window.hmOverlay), undefined)
  await ctx.close()
})
