/**
 * The capture script in real headless Chromium (Debian's `chromium`, driven by playwright-core), against
 * the embedded platform: what the driver does arrives as counts in the query API; what must not leave the
 * browser does not, checked on every request the SDK made (a recording proxy sees beacons too).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import type { Page } from 'playwright-core'
import { type Harness, heatmap, sentEvents, startHarness, testPage, until } from './harness.ts'

let h: Harness
before(async () => {
  h = await startHarness()
})
after(async () => {
  await h?.stop()
})

// \`window.hm\` is typed by the capture script (src/capture.ts).
const flush = (page: Page) => page.evaluate(() => window.hm!.flush())
/** Lets the page's timers and listeners run; no assertion depends on how long this takes. */
const settle = (page: Page, ms = 1500) => page.waitForTimeout(ms)
/** Events the proxy saw since request `from` for the page at `path` of the pages origin. */
const eventsOf = (path: string, from = 0): WireEvent[] =>
  h.recorded
    .slice(from)
    .flatMap((r) => r.batch?.events ?? [])
    .filter((e) => new URL(e.url).pathname === path)
const cell = (x: number, y: number): [number, number] => [Math.floor((x / 1280) * 128), Math.floor(y / 16)]

describe('the capture script in headless Chromium', () => {
  test('on a demo page served by the platform, the driver’s clicks and scroll arrive as exact counts', async () => {
    const ctx = await h.context()
    const page = await ctx.newPage()
    const bodies: string[] = []
    page.on('request', (r) => {
      if (r.url().includes('/v1/events/')) bodies.push(r.postData() ?? '')
    })
    await page.goto(`${h.platform.url}/demo/pricing`)
    await page.waitForFunction(() => window.hm?.stats !== undefined)
    // Document coordinates of the title (240,128 800×72) and subtitle (340,212 600×48); 30+ px apart,
    // so no two make a rage burst.
    const spots: Array<[number, number]> = [
      [400, 150],
      [880, 170],
      [640, 236],
    ]
    for (const [x, y] of spots) await page.mouse.click(x, y)
    await page.mouse.wheel(0, 1200)
    await page.waitForFunction(() => window.scrollY > 0)
    const scrollY = await page.evaluate(() => window.scrollY)
    // A compare-plans row (140,1070 1000×56), clicked after scrolling: its document y includes the scroll.
    await page.mouse.click(640, 1098 - scrollY)
    spots.push([640, 1098])
    await flush(page)

    const want = spots
      .map(([x, y]) => cell(x, y))
      .sort((a, b) => a[1] - b[1] || a[0] - b[0])
      .map(([x, y]): [number, number, number] => [x, y, 1])
    const clicks = await until(
      () => heatmap(h, '/demo/pricing', 'click'),
      (m) => m.total >= 4,
    )
    assert.deepEqual(clicks.cells, want)
    assert.equal(clicks.total, 4)
    assert.equal(
      (
        await until(
          () => heatmap(h, '/demo/pricing', 'pageview'),
          (m) => m.total >= 1,
        )
      ).total,
      1,
    )
    assert.ok(
      (
        await until(
          () => heatmap(h, '/demo/pricing', 'scroll'),
          (m) => m.total >= 1,
        )
      ).total >= 1,
    )

    // The scroll depth the SDK reported: the bottom of the viewport after the wheel.
    const events = bodies.flatMap((b) => (JSON.parse(b) as { events: WireEvent[] }).events)
    const depth = Math.max(
      ...events.filter((e) => e.type === 'scroll').map((e) => (e as { depth: number }).depth),
    )
    assert.equal(depth, scrollY + 800)
    assert.ok(events.every((e) => e.url === `${h.platform.url}/demo/pricing`))

    // Attention: the page was visible, so its visible bands have time.
    await page.mouse.move(100, 100)
    await settle(page, 300)
    await page.close({ runBeforeUnload: true })
    assert.ok(
      (
        await until(
          () => heatmap(h, '/demo/pricing', 'attention'),
          (m) => m.total > 0,
        )
      ).total > 0,
    )
    await ctx.close()
  })

  test('rage clicks are one burst with its count; dead clicks are the ones that changed nothing', async () => {
    const url = h.page(
      '/clicks',
      testPage(
        h,
        `<div id="plain" class="box" style="left:100px;top:100px">plain</div>
<button id="live" class="box" style="left:500px;top:100px" onclick="this.textContent=String(Number(this.textContent)+1)">0</button>
<a id="anchor" class="box" style="left:900px;top:100px" href="#below">jump</a>
<div id="below" style="position:absolute;top:2000px;height:10px"></div>`,
      ),
    )
    const ctx = await h.context()
    const page = await ctx.newPage()
    const from = h.recorded.length
    await page.goto(url)
    await page.waitForFunction(() => window.hm?.stats !== undefined)
    await page.mouse.click(600, 150) // changes the DOM
    await page.mouse.click(1000, 150) // navigates to an anchor
    await page.evaluate(() => window.scrollTo(0, 0))
    // Four clicks in well under a second, within a few px: one rage burst of 4.
    for (const [dx, dy] of [
      [0, 0],
      [4, 2],
      [-3, 5],
      [2, -4],
    ]) {
      await page.mouse.click(200 + dx!, 150 + dy!)
    }
    // The plain clicks' dead verdicts come a second later, after those of the first two clicks.
    const events = await until(
      async () => {
        await flush(page)
        return sentEvents(h).slice(0)
      },
      (evs) => evs.filter((e) => e.type === 'dead' && e.url.endsWith('/clicks')).length >= 4,
    )
    const mine = events.filter((e) => e.url.endsWith('/clicks'))
    const rage = mine.filter((e) => e.type === 'rage') as Array<
      WireEvent & { count: number; x: number; y: number }
    >
    assert.equal(rage.length, 1)
    assert.deepEqual([rage[0]!.count, rage[0]!.x, rage[0]!.y], [4, 200, 150])
    const dead = mine.filter((e) => e.type === 'dead') as Array<WireEvent & { selector: string }>
    assert.deepEqual(
      dead.map((e) => e.selector),
      ['#plain', '#plain', '#plain', '#plain'],
    )
    assert.equal(mine.filter((e) => e.type === 'click').length, 6)
    assert.ok(h.recorded.length > from)
    assert.equal(
      (
        await until(
          () => heatmap(h, '/clicks', 'rage'),
          (m) => m.total >= 1,
        )
      ).total,
      1,
    )
    assert.equal(
      (
        await until(
          () => heatmap(h, '/clicks', 'dead'),
          (m) => m.total >= 4,
        )
      ).total,
      4,
    )
    await ctx.close()
  })

  test('the beacon on page close carries what was still queued, and it arrives', async () => {
    const url = h.page(
      '/beacon',
      testPage(h, '<div class="box" style="left:0;top:0;width:1280px;height:700px">x</div>'),
    )
    const ctx = await h.context()
    const page = await ctx.newPage()
    await page.goto(url)
    await page.waitForFunction(() => window.hm?.stats !== undefined)
    for (const x of [100, 400, 700]) await page.mouse.click(x, 300)
    const before = h.recorded.length
    const queued = await page.evaluate(() => window.hm!.stats().queued)
    assert.equal(queued >= 4, true, `queued ${queued}`) // the page view and three clicks, not yet sent
    await page.close({ runBeforeUnload: true })
    const after = await until(
      () => h.recorded.slice(before),
      (rs) => rs.some((r) => r.batch?.events.some((e) => e.type === 'click' && e.url.endsWith('/beacon'))),
    )
    const clicks = after.flatMap((r) => r.batch?.events ?? []).filter((e) => e.type === 'click')
    assert.equal(clicks.length, 3)
    assert.ok(after.every((r) => r.contentType?.startsWith('text/plain')))
    assert.equal(
      (
        await until(
          () => heatmap(h, '/beacon', 'click'),
          (m) => m.total >= 3,
        )
      ).total,
      3,
    )
    await ctx.close()
  })

  test('masked text, input values, ignored elements, query strings and fragments never leave the browser', async () => {
    h.page(
      '/privacy',
      testPage(
        h,
        `<div data-hm-mask id="acct-jane-doe" class="holder-4111111111111111 box" style="left:100px;top:100px"><span class="name-jane">Jane Doe</span> <b style="display:block">4111 1111 1111 1111</b></div>
<input id="field" class="box" style="left:100px;top:300px">
<div data-hm-ignore id="ignored-zone" class="box private-area" style="left:500px;top:100px">private</div>`,
      ),
    )
    const ctx = await h.context()
    const page = await ctx.newPage()
    const from = h.recorded.length
    await page.goto(`${h.pagesOrigin}/privacy?email=jane.doe@example.com&token=tok123#access_token=zzz999`)
    await page.waitForFunction(() => window.hm?.stats !== undefined)
    const span = (await page.locator('span.name-jane').boundingBox())!
    await page.mouse.click(span.x + 5, span.y + 5)
    const bold = (await page.locator('b').boundingBox())!
    await page.mouse.click(bold.x + 5, bold.y + 5)
    await page.mouse.move(bold.x + 10, bold.y + 5)
    await settle(page, 500) // a rest over the masked element
    await page.mouse.click(150, 350)
    await page.keyboard.type('secret typed value')
    await page.mouse.click(600, 150) // inside data-hm-ignore
    await page.mouse.move(650, 160)
    await settle(page, 500)
    await flush(page)
    await page.close({ runBeforeUnload: true })
    const sent = await until(
      () => h.recorded.slice(from),
      (rs) => rs.flatMap((r) => r.batch?.events ?? []).filter((e) => e.type === 'click').length >= 3,
    )
    const raw = h.recorded
      .slice(from)
      .map((r) => r.body)
      .join('\n')
    assert.ok(sent.length > 0)
    // Long enough never to turn up by chance in a timestamp, a coordinate or a random id.
    for (const secret of [
      'Jane Doe',
      'jane-doe',
      'name-jane',
      '4111 1111',
      '4111111111111111',
      'secret typed',
      'tok123',
      'zzz999',
      'access_token',
      'email=',
      'acct-',
      'holder-',
      'ignored-zone',
      'private-area',
    ]) {
      assert.equal(raw.includes(secret), false, `"${secret}" left the browser`)
    }
    const events = h.recorded.slice(from).flatMap((r) => r.batch?.events ?? [])
    const clicks = events.filter((e) => e.type === 'click') as Array<WireEvent & { selector?: string }>
    // The two masked clicks are described by structure alone; the input by its id; the ignored one not at all.
    assert.deepEqual(
      clicks.map((c) => c.selector),
      ['body > div:nth-of-type(1) > span', 'body > div:nth-of-type(1) > b', '#field'],
    )
    assert.ok(
      events.every((e) => e.url === `${h.pagesOrigin}/privacy`),
      JSON.stringify(events.map((e) => e.url)),
    )
    await ctx.close()
  })

  test('nothing is sent before consent where consent is required; revoking stops and forgets', async () => {
    const url = h.page(
      '/consent',
      testPage(h, '<div class="box" style="left:0;top:0;width:1280px;height:3000px">x</div>', {
        'data-consent-required': 'true',
      }),
    )
    const ctx = await h.context()
    // A visit that never consents, closed: not even the beacon goes.
    const from = h.recorded.length
    const p1 = await ctx.newPage()
    await p1.goto(url)
    await p1.waitForFunction(() => window.hm?.stats !== undefined)
    await p1.mouse.click(300, 300)
    await p1.mouse.wheel(0, 900)
    await flush(p1)
    await p1.close({ runBeforeUnload: true })

    const page = await ctx.newPage()
    await page.goto(url)
    await page.waitForFunction(() => window.hm?.stats !== undefined)
    await page.mouse.click(200, 200)
    await page.mouse.move(500, 500)
    await settle(page, 400)
    await flush(page)
    await settle(page)
    assert.deepEqual(eventsOf('/consent', from), [], 'an event left before consent')
    assert.equal(await page.evaluate(() => window.hm!.stats().queued), 0)

    await page.evaluate(() => window.hm!.consent(true))
    await page.mouse.click(640, 400)
    await flush(page)
    const after = await until(
      () => eventsOf('/consent', from),
      (evs) => evs.some((e) => e.type === 'click'),
    )
    // The page view starts at consent; the click before it is nowhere. (Scroll depth and attention of
    // the view since consent come along.)
    const kept = after.filter((e) => e.type === 'pageview' || e.type === 'click')
    assert.deepEqual(
      kept.map((e) => e.type),
      ['pageview', 'click'],
    )
    assert.deepEqual([(kept[1] as { x: number }).x, (kept[1] as { y: number }).y], [640, 400])
    assert.notEqual(await page.evaluate(() => localStorage.getItem('hm_vid')), null)

    await page.evaluate(() => window.hm!.consent(false))
    const stopped = eventsOf('/consent', from).length
    await page.mouse.click(700, 500)
    await flush(page)
    await page.close({ runBeforeUnload: true })
    const p3 = await ctx.newPage()
    await p3.goto(`${h.pagesOrigin}/nothing-here`)
    assert.equal(await p3.evaluate(() => localStorage.getItem('hm_vid')), null)
    await settle(p3)
    assert.equal(eventsOf('/consent', from).length, stopped)
    await ctx.close()
  })

  for (const [name, path, init] of [
    ['Do Not Track', '/dnt', "Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' })"],
    [
      'Global Privacy Control',
      '/gpc',
      "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true })",
    ],
  ] as const) {
    test(`${name}: nothing is captured or sent`, async () => {
      const url = h.page(
        path,
        testPage(h, '<div class="box" style="left:0;top:0;width:1280px;height:2000px">x</div>'),
      )
      const ctx = await h.context({ initScript: init })
      const page = await ctx.newPage()
      const from = h.recorded.length
      await page.goto(url)
      await page.waitForFunction(() => window.hm?.stats !== undefined)
      await page.mouse.click(300, 300)
      await page.mouse.wheel(0, 600)
      await flush(page)
      assert.equal(await page.evaluate(() => window.hm!.stats().queued), 0)
      await page.close({ runBeforeUnload: true })
      const other = await ctx.newPage()
      await other.goto(`${h.pagesOrigin}/nothing-here`)
      await settle(other)
      assert.deepEqual(eventsOf(path, from), [])
      await ctx.close()
    })
  }

  test('SPA route changes are page views; events of a view carry its URL', async () => {
    const url = h.page(
      '/spa/one',
      testPage(h, '<div class="box" style="left:0;top:0;width:1280px;height:700px">x</div>'),
    )
    const ctx = await h.context()
    const page = await ctx.newPage()
    const from = h.recorded.length
    await page.goto(url)
    await page.waitForFunction(() => window.hm?.stats !== undefined)
    await page.mouse.click(100, 100)
    await page.evaluate(() => history.pushState({}, '', '/spa/two?utm=x'))
    await page.mouse.click(200, 200)
    await page.evaluate(() => history.replaceState({}, '', '/spa/two?utm=y')) // same view
    await page.evaluate(() => {
      location.hash = '#/settings?tab=billing'
    })
    await page.mouse.click(300, 300)
    await flush(page)
    const events = await until(
      () => h.recorded.slice(from).flatMap((r) => r.batch?.events ?? []),
      (evs) => evs.filter((e) => e.type === 'click').length >= 3,
    )
    const o = h.pagesOrigin
    assert.deepEqual(
      events.filter((e) => e.type === 'pageview' || e.type === 'click').map((e) => [e.type, e.url]),
      [
        ['pageview', `${o}/spa/one`],
        ['click', `${o}/spa/one`],
        ['pageview', `${o}/spa/two`],
        ['click', `${o}/spa/two`],
        ['pageview', `${o}/spa/two#/settings`],
        ['click', `${o}/spa/two#/settings`],
      ],
    )
    const views = events.filter((e) => e.type === 'pageview') as Array<WireEvent & { referrer?: string }>
    assert.deepEqual(
      views.map((v) => v.referrer),
      [undefined, `${o}/spa/one`, `${o}/spa/two`],
    )
    await ctx.close()
  })

  test("headless Chromium's own User-Agent is a bot: its events are dropped and counted, never stored", async () => {
    const scrapeBots = async () => {
      const text = await (await fetch(`${h.platform.url}/metrics`)).text()
      return Number(/^hm_ingest_dropped_total\{reason="bot_user_agent"\} (\d+)/m.exec(text)?.[1] ?? 0)
    }
    const before = await scrapeBots()
    const url = h.page('/headless', testPage(h, '<div class="box" style="left:0;top:0">x</div>'))
    const ctx = await h.browser.newContext({ viewport: { width: 1280, height: 800 } })
    const page = await ctx.newPage()
    assert.match(await page.evaluate(() => navigator.userAgent), /HeadlessChrome/)
    await page.goto(url)
    await page.waitForFunction(() => window.hm?.stats !== undefined)
    await page.mouse.click(50, 50)
    await flush(page)
    await until(scrapeBots, (n) => n >= before + 2)
    await ctx.close()
    // A kept click on the same page afterwards: once it shows, the dropped ones would have shown too.
    const human = await h.context()
    const p2 = await human.newPage()
    await p2.goto(url)
    await p2.waitForFunction(() => window.hm?.stats !== undefined)
    await p2.mouse.click(50, 50)
    await flush(p2)
    assert.equal(
      (
        await until(
          () => heatmap(h, '/headless', 'click'),
          (m) => m.total >= 1,
        )
      ).total,
      1,
    )
    assert.equal(
      (
        await until(
          () => heatmap(h, '/headless', 'pageview'),
          (m) => m.total >= 1,
        )
      ).total,
      1,
    )
    await human.close()
  })
})
