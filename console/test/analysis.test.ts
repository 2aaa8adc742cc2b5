/**
 * The viewer's analyses end to end, in headless Chromium against the real platform: seeded visitors who
 * scroll to known depths with known first screens give a scroll map whose 100/75/50/25 % lines and
 * average fold sit where they scrolled (and a colour band from hot to cold); attention is drawn as whole
 * rows with the row looked at longest marked; seeded clicks on known elements are ranked in order with
 * their counts, rage and dead clicks, and sorted from the keyboard; two date ranges of different length with a known difference compare per page view, the difference map
 * red where B has more, blue where it has fewer and clear where they are equal, from a shareable address.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import type { Locator, Page } from 'playwright-core'
import { decodePng } from '../../actors/test/helpers/png.ts'
import { describeRange, resolveSides, type SideState } from '../src/components/compare-range.ts'
import { type ConsoleHarness, startConsoleHarness, until } from './helpers/platform.ts'

const artifacts = new URL('../test-artifacts/analysis/', import.meta.url).pathname
const DAY = 86_400_000
const url = (path: string) => `https://shop.example${path}`
const DOC_WIDTH = 1280

let h: ConsoleHarness
let page: Page
let sessionNo = 0

/** One visitor's page view (and what follows it) on a desktop screen of `vh` px. */
function visit(path: string, ts: number, vh: number, rest: Array<Record<string, unknown>>): WireEvent[] {
  const screen = { url: url(path), vw: 1280, vh, dw: DOC_WIDTH, dh: 4000 }
  return [
    { type: 'pageview', ts, ...screen } as WireEvent,
    ...rest.map((e, i) => ({ ts: ts + 1000 * (i + 1), ...screen, ...e }) as WireEvent),
  ]
}
const send = (events: WireEvent[]) => h.send(`an-${++sessionNo}`, events)

// Scroll depth: two visitors of each first screen, each scrolling to a known depth (px, multiples of the
// 16 px rows). Everyone saw 720 px, 6 of 8 reached 1600, 4 of 8 2400, 2 of 8 3200.
const SCROLLERS: Array<{ vh: number; depth?: number }> = [
  { vh: 720 },
  { vh: 800, depth: 1600 },
  { vh: 880, depth: 2400 },
  { vh: 960, depth: 3200 },
]
const MARKS = [
  [100, 720],
  [75, 1600],
  [50, 2400],
  [25, 3200],
] as const
const FOLD = (720 + 800 + 880 + 960) / 4
const ATTENTION = { band0: 10, ms: [1000, 3000, 1000] }

// Elements: clicks (and rage and dead clicks) on known selectors of /pricing.
const CLICKS: Array<{ selector: string; clicks: number; rage?: number; dead?: number }> = [
  { selector: '#buy', clicks: 12 },
  { selector: '#plan-pro', clicks: 7, rage: 1 },
  { selector: 'nav > a.home', clicks: 3 },
  { selector: '.faq summary', clicks: 2, dead: 2 },
]
const ELEMENT_CLICKS = CLICKS.reduce((n, c) => n + c.clicks, 0)

// Compare: /landing, A one day three days ago, B the two days after it, twice A's page views. Per page
// view, P is the same on both (clear), Q falls from 1 to a quarter (blue), R is new in B (red).
const today = Math.floor(Date.now() / DAY) * DAY
const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10)
const A_DAY = today - 3 * DAY
const B_DAYS = [today - 2 * DAY, today - DAY]
const P = { x: 205, y: 408 }
const Q = { x: 645, y: 408 }
const R = { x: 1085, y: 408 }

async function seed(): Promise<void> {
  const sends: Array<Promise<void>> = []
  const noon = today - DAY / 2
  for (const [i, s] of SCROLLERS.entries())
    for (let k = 0; k < 2; k++)
      sends.push(
        send(
          visit('/article', noon + k * 60_000, s.vh, [
            ...(s.depth ? [{ type: 'scroll', depth: s.depth }] : []),
            // Two of the views looked at rows 10–12 for a while, row 11 longest.
            ...(i === 0 ? [{ type: 'attention', band0: ATTENTION.band0, ms: ATTENTION.ms }] : []),
          ]),
        ),
      )
  for (const c of CLICKS) {
    // A few clicks per visitor, a person's pace.
    for (let done = 0; done < c.clicks; done += 3) {
      const n = Math.min(3, c.clicks - done)
      const first = done === 0
      const at = { x: 400, y: 300, selector: c.selector }
      sends.push(
        send(
          visit('/pricing', noon, 800, [
            ...Array.from({ length: n }, () => ({ type: 'click', ...at })),
            ...(first && c.rage ? [{ type: 'rage', ...at, count: 3 }] : []),
            ...(first ? Array.from({ length: c.dead ?? 0 }, () => ({ type: 'dead', ...at })) : []),
          ]),
        ),
      )
    }
  }
  const landing = (day: number, i: number, clicks: Array<{ x: number; y: number }>) =>
    send(
      visit(
        '/landing',
        day + 12 * 3_600_000 + i * 60_000,
        800,
        clicks.map((c) => ({ type: 'click', ...c })),
      ),
    )
  for (let i = 0; i < 10; i++) sends.push(landing(A_DAY, i, [P, Q]))
  // B: 20 page views, each clicking P and R; 5 of them Q as well.
  for (let i = 0; i < 20; i++) sends.push(landing(B_DAYS[i % 2]!, i, i < 5 ? [P, Q, R] : [P, R]))
  await Promise.all(sends)
}

/** The gateway's own answer, as the owner's API key reads it. */
async function read<T>(path: string, query: Record<string, string>): Promise<T> {
  const { siteId, apiKey } = h.platform.demo!
  const r = await fetch(`${h.platform.url}/v1/sites/${siteId}/${path}?${new URLSearchParams(query)}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  })
  return (await r.json()) as T
}

type Rgb = [number, number, number]
const isRed = ([r, g, b]: Rgb) => r > 200 && g < 110 && b < 110
const isBlue = ([r, g, b]: Rgb) => b > 200 && b - r > 100 && b > g
const isGrey = ([r, g, b]: Rgb) => Math.max(r, g, b) - Math.min(r, g, b) < 16

/** Screenshots a stage's canvas and reads the colour on screen at a document point in view. */
async function colourAt(stage: Locator, doc: { x: number; y: number }): Promise<Rgb> {
  const canvas = stage.getByTestId('heatmap-canvas')
  const box = (await canvas.boundingBox())!
  const scale = box.width / DOC_WIDTH
  const scrollTop = await stage.locator('.stage-scroller').evaluate((e) => e.scrollTop)
  const png = decodePng(await canvas.screenshot())
  const [r, g, b] = png.pixel(Math.round(doc.x * scale), Math.round(doc.y * scale - scrollTop))
  return [r, g, b]
}

/**
 * The colour at a document point with the map drawn and with the canvas hidden: equal where the map
 * leaves the page as it is, whatever the page shows there.
 */
async function withAndWithout(stage: Locator, doc: { x: number; y: number }): Promise<[Rgb, Rgb]> {
  const drawn = await colourAt(stage, doc)
  const canvas = stage.getByTestId('heatmap-canvas')
  await canvas.evaluate((c) => {
    ;(c as HTMLElement).style.opacity = '0'
  })
  const bare = await colourAt(stage, doc)
  await canvas.evaluate((c) => {
    ;(c as HTMLElement).style.opacity = ''
  })
  return [drawn, bare]
}
const same = (a: Rgb, b: Rgb) => a.every((v, k) => Math.abs(v - b[k]!) <= 3)

/** Scrolls a stage so document y is in view, and waits for the frame drawn there. */
async function scrollTo(stage: Locator, docY: number): Promise<void> {
  const scale = await stage.locator('.stage-doc').evaluate((e) => e.getBoundingClientRect().width / 1280)
  await stage.locator('.stage-scroller').evaluate(
    (e, top) => {
      e.scrollTop = top
    },
    Math.max(0, docY * scale - 100),
  )
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
}

/** Where a line of the overlay sits, in document px. */
async function docY(line: Locator): Promise<number> {
  const doc = (await page.locator('.stage-doc').boundingBox())!
  const box = (await line.boundingBox())!
  return (box.y - doc.y) / (doc.width / DOC_WIDTH)
}

before(async () => {
  mkdirSync(artifacts, { recursive: true })
  h = await startConsoleHarness()
  await seed()
  // Everything stored: the analyses read ClickHouse (scroll depth and elements have no live merge).
  await until(
    () => read<{ views: number }>('scroll', { page: '/article' }),
    (s) => s.views === 8,
    30_000,
  )
  await until(
    () => read<{ bands: Array<{ ms: number }> }>('attention', { page: '/article' }),
    (a) => a.bands?.some((b) => b.ms === 2 * ATTENTION.ms[1]!) === true,
    30_000,
  )
  await until(
    () => read<{ totalClicks: number; elements: Array<{ dead: number }> }>('elements', { page: '/pricing' }),
    (e) => e.totalClicks === ELEMENT_CLICKS && e.elements.some((x) => x.dead === 2),
    30_000,
  )
  await until(
    () =>
      read<{ a: { views: number }; b: { views: number } }>('compare', {
        page: '/landing',
        type: 'click',
        aFrom: isoDay(A_DAY),
        aTo: isoDay(A_DAY + DAY),
        bFrom: isoDay(B_DAYS[0]!),
        bTo: isoDay(today),
      }),
    (c) => c.a?.views === 10 && c.b?.views === 20,
    30_000,
  )
  page = await (await h.context()).newPage()
  await h.signIn(page)
})

after(async () => {
  await h?.stop()
})

const heatmapUrl = (query: Record<string, string>) =>
  `${h.platform.url}/console/sites/${h.platform.demo!.siteId}/heatmap?${new URLSearchParams(query)}`

describe('analyses', { timeout: 240_000 }, () => {
  test('scroll depth: lines where 100/75/50/25 % of page views still were, the average fold, hot to cold', async () => {
    await page.goto(heatmapUrl({ page: '/article', type: 'scroll' }))
    const marks = page.getByTestId('scroll-mark')
    await until(
      () => marks.count(),
      (n) => n === MARKS.length,
    )
    assert.equal(
      (await page.getByTestId('heatmap-total').textContent())?.replace(/\s+/g, ' ').trim(),
      '8 page views reaching',
    )
    for (const [i, [percent, y]] of MARKS.entries()) {
      const mark = marks.nth(i)
      assert.equal(await mark.getAttribute('data-percent'), String(percent))
      assert.equal((await mark.textContent())?.trim(), `${percent}% reached ${y.toLocaleString('en')} px`)
      const at = await docY(mark)
      assert.ok(Math.abs(at - y) <= 2, `the ${percent}% line at ${at} px, expected ${y}`)
    }
    const fold = page.getByTestId('fold-line')
    assert.equal((await fold.textContent())?.trim(), `Average fold · ${FOLD} px`)
    const foldAt = await docY(fold)
    assert.ok(Math.abs(foldAt - FOLD) <= 2, `the fold line at ${foldAt} px, expected ${FOLD}`)

    // The colour band: hot where everyone was, cooler where half were, the page itself below the last.
    const stage = page.locator('.stage')
    await until(
      () => colourAt(stage, { x: 640, y: 300 }),
      (c) => isRed(c),
      10_000,
    )
    await scrollTo(stage, 2000)
    const half = await colourAt(stage, { x: 640, y: 2000 })
    assert.ok(!isRed(half) && !isGrey(half), `where half the page views were: ${half}`)
    // The share under the pointer.
    const canvas = (await stage.getByTestId('heatmap-canvas').boundingBox())!
    const scale = canvas.width / DOC_WIDTH
    const scrollTop = await stage.locator('.stage-scroller').evaluate((e) => e.scrollTop)
    await page.mouse.move(canvas.x + 200, canvas.y + 2000 * scale - scrollTop)
    assert.equal(
      (await page.getByTestId('scroll-pointer').textContent())?.trim(),
      '50% of page views reached this point',
    )
    // 100 px below the deepest scroll (the splats of the last row reach about 45 px): the page as it is.
    await scrollTo(stage, 3300)
    const [below, page3300] = await withAndWithout(stage, { x: 640, y: 3300 })
    assert.ok(same(below, page3300), `below the deepest scroll ${below}, the page there ${page3300}`)
    // For the eye: a taller window, the map from just above the first line, the pointer on the 75 % run.
    await page.setViewportSize({ width: 1280, height: 1400 })
    await scrollTo(stage, 750)
    const box = (await stage.getByTestId('heatmap-canvas').boundingBox())!
    const top = await stage.locator('.stage-scroller').evaluate((e) => e.scrollTop)
    await page.mouse.move(box.x + 300, box.y + 1200 * (box.width / DOC_WIDTH) - top)
    await page.getByTestId('scroll-pointer').filter({ hasText: '75%' }).waitFor()
    await page.screenshot({ path: join(artifacts, 'scroll-depth.png'), fullPage: true })
    await page.setViewportSize({ width: 1280, height: 900 })
  })

  test('attention: full-width rows, the row looked at longest and the time per page view under the pointer', async () => {
    await page.goto(heatmapUrl({ page: '/article', type: 'attention' }))
    const top = page.getByTestId('attention-top')
    await top.waitFor()
    // Row 11 (176–192 px): 2 × 3000 ms over the page's 8 views.
    assert.equal((await top.textContent())?.trim(), 'Most attention · 0.8 s per page view')
    const at = await docY(top)
    assert.ok(Math.abs(at - 184) <= 2, `the line at ${at} px, expected the middle of row 11 (184)`)
    // Visible time is a property of a row: drawn across the whole width, not as a spot at its left edge.
    const stage = page.locator('.stage')
    const right = await until(
      () => colourAt(stage, { x: 1200, y: 184 }),
      (c) => isRed(c),
      10_000,
    )
    const left = await colourAt(stage, { x: 80, y: 184 })
    assert.ok(isRed(left) && isRed(right), `across row 11: ${left} … ${right}`)
    const canvas = (await stage.getByTestId('heatmap-canvas').boundingBox())!
    await page.mouse.move(canvas.x + 300, canvas.y + 168 * (canvas.width / DOC_WIDTH))
    assert.equal(
      (await page.getByTestId('attention-pointer').textContent())?.trim(),
      '0.3 s visible per page view here',
    )
  })

  test('element ranking: the seeded elements in order with their clicks, share, rage and dead clicks', async () => {
    await page.goto(heatmapUrl({ page: '/pricing', type: 'click' }))
    const rows = page.getByTestId('element-row')
    await until(
      () => rows.count(),
      (n) => n === CLICKS.length,
    )
    const table = async () =>
      rows.evaluateAll((trs) =>
        // No named functions in here: the test runner's transform would wrap them in a helper the page lacks.
        trs.map((tr) => [
          tr.getAttribute('data-selector'),
          ...['clicks', 'rage', 'dead', 'share'].map((c) =>
            tr.querySelector(`[data-col="${c}"]`)?.textContent?.trim(),
          ),
        ]),
      )
    const pct = (n: number) => `${Math.round((n / ELEMENT_CLICKS) * 1000) / 10}%`
    assert.deepEqual(
      await table(),
      CLICKS.map((c) => [
        c.selector,
        String(c.clicks),
        String(c.rage ?? 0),
        String(c.dead ?? 0),
        pct(c.clicks),
      ]),
    )
    assert.equal(
      (await page.getByTestId('element-total').textContent())?.trim(),
      `${ELEMENT_CLICKS} clicks on elements`,
    )
    // The map beside the panel is the same page's clicks: all 24 on the one spot they were seeded at.
    const stage = page.locator('.stage')
    await until(
      () => colourAt(stage, { x: 405, y: 296 }),
      (c) => isRed(c),
      10_000,
    )
    const box = (await stage.getByTestId('heatmap-canvas').boundingBox())!
    await page.mouse.move(box.x + 405 * (box.width / DOC_WIDTH), box.y + 296 * (box.width / DOC_WIDTH))
    assert.equal(await page.getByTestId('heatmap-hover').textContent(), `${ELEMENT_CLICKS} clicks`)
    await page.screenshot({ path: join(artifacts, 'elements.png'), fullPage: true })

    // Sorted from the keyboard: the column's button takes focus and Enter, like any button.
    const dead = page.getByRole('button', { name: 'Dead', exact: true })
    await dead.focus()
    await page.keyboard.press('Enter')
    await until(
      () => rows.first().getAttribute('data-selector'),
      (s) => s === '.faq summary',
    )
    assert.equal(await page.locator('th[aria-sort="descending"]').textContent(), 'Dead')
    // A rage-click map ranks by rage.
    await page.goto(heatmapUrl({ page: '/pricing', type: 'rage' }))
    await until(
      () => rows.first().getAttribute('data-selector'),
      (s) => s === '#plan-pro',
    )
  })

  test('compare: two ranges of different length, per page view; the difference map red, blue and clear', async () => {
    await page.goto(heatmapUrl({ page: '/landing', type: 'click' }))
    await page.getByRole('link', { name: 'Compare', exact: true }).click()
    await page.waitForURL(/\/compare\?/)
    assert.equal(new URL(page.url()).searchParams.get('page'), '/landing')
    const side = (s: 'a' | 'b') => page.locator(`fieldset[data-side="${s}"]`)
    const pick = async (s: 'a' | 'b', from: number, to: number) => {
      await side(s).locator(`select[name="${s}-range"]`).selectOption('custom')
      await side(s).getByLabel('From', { exact: true }).fill(isoDay(from))
      await side(s).getByLabel('To', { exact: true }).fill(isoDay(to))
    }
    await pick('a', A_DAY, A_DAY)
    await pick('b', B_DAYS[0]!, B_DAYS[1]!)
    // The last change reaches the address when the page handles it.
    const want = ['custom', isoDay(A_DAY), isoDay(A_DAY), 'custom', isoDay(B_DAYS[0]!), isoDay(B_DAYS[1]!)]
    await until(
      () => ['a', 'aFrom', 'aTo', 'b', 'bFrom', 'bTo'].map((k) => new URL(page.url()).searchParams.get(k)),
      (got) => JSON.stringify(got) === JSON.stringify(want),
      5_000,
    )

    // The address is the whole view: opened afresh, it shows the same comparison.
    const shared = page.url()
    const fresh = await page.context().newPage()
    await fresh.goto(shared)
    for (const p of [page, fresh]) {
      await until(
        async () => [
          await p.getByTestId('compare-a-views').textContent(),
          await p.getByTestId('compare-b-views').textContent(),
        ],
        (v) => v[0] === '10 page views' && v[1] === '20 page views',
      )
    }
    await fresh.close()

    const diff = page.getByTestId('compare-diff')
    await diff.scrollIntoViewIfNeeded()
    const red = await until(
      () => colourAt(diff, R),
      (c) => isRed(c),
      10_000,
    )
    const blue = await colourAt(diff, Q)
    assert.ok(isRed(red), `R, new in B: ${red}`)
    assert.ok(isBlue(blue), `Q, a quarter as often in B: ${blue}`)
    // Equal per page view: the map leaves the page as it is there.
    const [clear, pageOnly] = await withAndWithout(diff, P)
    assert.ok(same(clear, pageOnly), `P, equal on both: ${clear} over the page's ${pageOnly}`)
    // A beside B on one scale: P, once per page view on both, is the same colour on both.
    const onA = await colourAt(page.getByTestId('compare-a'), P)
    const onB = await colourAt(page.getByTestId('compare-b'), P)
    assert.ok(!isGrey(onA), `P on A: ${onA}`)
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(onA[k]! - onB[k]!) <= 4, `P on A ${onA}, on B ${onB}`)
    await page.screenshot({ path: join(artifacts, 'compare.png'), fullPage: true })
    assert.deepEqual(h.pageErrors, [], 'no errors in the console')
  })
})

describe('compare ranges', () => {
  const side = (range: SideState['range'], from?: string, to?: string): SideState => ({
    range,
    from,
    to,
    device: undefined,
    country: undefined,
  })
  const now = Date.UTC(2026, 10, 27, 10)

  test("A before B: the period of B's length just before it, for a preset and for dates", () => {
    const preset = resolveSides(side('prev'), side('7d'), now)
    assert.deepEqual(preset.b, {
      from: String(now - 7 * DAY),
      to: undefined,
      device: undefined,
      country: undefined,
    })
    assert.deepEqual([preset.a.from, preset.a.to], [String(now - 14 * DAY), String(now - 7 * DAY)])
    // Whole days: B covers the 25th and 26th (to the 27th's midnight), so A is the 23rd and 24th.
    const days = resolveSides(side('prev'), side('custom', '2026-11-25', '2026-11-26'), now)
    assert.deepEqual([days.b.from, days.b.to], ['2026-11-25', '2026-11-27'])
    assert.deepEqual(
      [days.a.from, days.a.to],
      [String(Date.UTC(2026, 10, 23)), String(Date.UTC(2026, 10, 25))],
    )
  })

  test("A as B's own range compares segments; each side keeps its device and country", () => {
    const b = { ...side('24h'), device: 'mobile' }
    const a = { ...side('same'), device: 'desktop', country: 'DE' }
    const r = resolveSides(a, b, now)
    assert.deepEqual(r.a, { from: String(now - DAY), to: undefined, device: 'desktop', country: 'DE' })
    assert.deepEqual(r.b, { from: String(now - DAY), to: undefined, device: 'mobile', country: undefined })
  })

  test('a range as a person reads it: whole days as dates, the end day included; else minutes, UTC', () => {
    assert.equal(describeRange(Date.UTC(2026, 10, 24), Date.UTC(2026, 10, 25)), '2026-11-24')
    assert.equal(describeRange(Date.UTC(2026, 10, 25), Date.UTC(2026, 10, 27)), '2026-11-25 – 2026-11-26')
    assert.equal(describeRange(now - 7 * DAY, now), '2026-11-20 10:00 – 2026-11-27 10:00 UTC')
  })
})
