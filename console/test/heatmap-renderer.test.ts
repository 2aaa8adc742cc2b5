/**
 * The console's WebGL2 heatmap renderer in real headless Chromium (WebGL through SwiftShader), checked by
 * the pixels it draws: colours of hot, medium and empty cells, live increments, scrolling, resizing at
 * another device pixel ratio, opacity, the diverging ramp, a scale shared by two maps, full-width bands,
 * a large page, context loss, the PNG export, and that the legend and the hover count read the real counts.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, test } from 'node:test'
import { build } from 'esbuild'
import { type Browser, chromium, type Page } from 'playwright-core'
import { decodePng } from '../../actors/test/helpers/png.ts'
import type { HeatmapCell, HeatmapGrid, HeatmapStyle, HeatmapView } from '../src/heatmap/index.ts'
import type { Pixel } from './fixtures/heatmap/page.ts'

const here = new URL('.', import.meta.url).pathname
const artifacts = new URL('../test-artifacts/', import.meta.url).pathname

// The standard scene: a 400 × 300 canvas showing a 400 px wide document, 20 columns of 20 px, 16 px bands.
const X_CELLS = 20
const BAND = 16
const VIEW: HeatmapView = { cssWidth: 400, cssHeight: 300, scrollY: 0, documentWidth: 400 }
const STYLE: HeatmapStyle = { radius: 24, intensity: 1, opacity: 1, ramp: 'heat' }
/** A cell's centre in CSS px of the standard scene (not scrolled). */
const at = (x: number, y: number): [number, number] => [
  ((x + 0.5) / X_CELLS) * VIEW.cssWidth,
  (y + 0.5) * BAND,
]
const grid = (cells: HeatmapCell[], xCells = X_CELLS): HeatmapGrid => ({ xCells, yBandPx: BAND, cells })

/** The renderer's kernel, written out again: 1 at the centre, 0 at 3 sigma, sigma = radius / 3. */
function kernelAt(distanceCss: number, radius: number): number {
  const d2 = (distanceCss / (radius / 3)) ** 2
  const floor = Math.exp(-4.5)
  return d2 >= 9 ? 0 : (Math.exp(-d2 / 2) - floor) / (1 - floor)
}

/** A hung browser fails its test instead of the whole run. */
const LIMIT = { timeout: 120_000 }

let browser: Browser
let origin: string
const server = createServer()

before(async () => {
  const bundle = await build({
    entryPoints: [`${here}fixtures/heatmap/page.ts`],
    bundle: true,
    format: 'iife',
    target: 'es2020',
    platform: 'browser',
    write: false,
    logLevel: 'warning',
  })
  const script = bundle.outputFiles[0]!.text
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>heatmap renderer</title>
<style>html,body{margin:0;background:#fff;font:14px sans-serif}.box{position:absolute;background:#e4e7eb}</style>
</head><body><script src="/page.js"></script></body></html>`
  server.on('request', (req, res) => {
    const body = req.url === '/' ? html : req.url === '/page.js' ? script : undefined
    res.writeHead(body === undefined ? 404 : 200, {
      'content-type': req.url === '/page.js' ? 'text/javascript' : 'text/html; charset=utf-8',
    })
    res.end(body ?? 'not found')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  })
})

after(async () => {
  await browser?.close()
  server.close()
})

/** Runs `fn` on a fresh test page (device pixel ratio `dpr`); an error on the page fails the test. */
async function withPage<T>(fn: (page: Page) => Promise<T>, dpr = 1): Promise<T> {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 }, deviceScaleFactor: dpr })
  try {
    const page = await context.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(e.message))
    await page.goto(`${origin}/`)
    await page.waitForFunction(() => window.hmTest !== undefined)
    const result = await fn(page)
    assert.deepEqual(errors, [], 'errors on the test page')
    return result
  } finally {
    await context.close()
  }
}

/** A scene on the page with `g`, the standard view and style (changed by `style`). */
function scene(page: Page, g: HeatmapGrid, style: Partial<HeatmapStyle> = {}): Promise<void> {
  return page.evaluate(
    ([g, view, style]) => {
      const s = window.hmTest.scene()
      s.renderer.setGrid(g)
      s.renderer.setView(view)
      s.renderer.setStyle(style)
      window.current = s
    },
    [g, VIEW, { ...STYLE, ...style }] as const,
  )
}

const pixel = (page: Page, [x, y]: [number, number]): Promise<Pixel> =>
  page.evaluate(([x, y]) => window.current!.pixel(x, y), [x, y] as const)
const countAt = (page: Page, [x, y]: [number, number]): Promise<number> =>
  page.evaluate(([x, y]) => window.current!.renderer.countAt(x, y), [x, y] as const)
const centroid = (page: Page, [x, y]: [number, number], half = 40): Promise<{ x: number; y: number }> =>
  page.evaluate(([x, y, h]) => window.current!.centroid(x, y, h), [x, y, half] as const)

const isRed = (p: Pixel): boolean => p.r >= 200 && p.g <= 90 && p.b <= 90
const isBlue = (p: Pixel): boolean => p.b >= 200 && p.r <= 90 && p.g <= 150
const show = (p: Pixel): string => `rgba(${p.r}, ${p.g}, ${p.b}, ${p.a})`

test('the browser offers a float colour buffer and the renderer splats into one', LIMIT, async () => {
  await withPage(async (page) => {
    const ext = await page.evaluate(() => window.hmTest.extensions())
    assert.ok(
      ext.EXT_color_buffer_float,
      `no EXT_color_buffer_float in this Chromium (${JSON.stringify(ext)}): it must run WebGL through SwiftShader (--use-angle=swiftshader --enable-unsafe-swiftshader)`,
    )
    await scene(page, grid([[5, 5, 10]]))
    const stats = await page.evaluate(() => window.current!.renderer.stats())
    assert.equal(stats.format, ext.EXT_float_blend ? 'R32F' : 'R16F')
  })
})

test(
  'a hot cell is red and opaque, a medium one in between, an empty one transparent; hover and legend read the counts',
  LIMIT,
  async () => {
    await withPage(async (page) => {
      await scene(
        page,
        grid([
          [5, 5, 100],
          [15, 5, 50],
          [10, 14, 0],
        ]),
      )
      const hot = await pixel(page, at(5, 5))
      const medium = await pixel(page, at(15, 5))
      const zero = await pixel(page, at(10, 14))
      const corner = await pixel(page, [395, 295])
      assert.ok(isRed(hot) && hot.a >= 250, `hot centre ${show(hot)}`)
      assert.ok(!isRed(medium) && medium.g > medium.r && medium.g > medium.b, `medium centre ${show(medium)}`)
      assert.ok(medium.a > 60 && medium.a < hot.a, `medium alpha ${medium.a} against hot ${hot.a}`)
      assert.equal(zero.a, 0, `zero cell ${show(zero)}`)
      assert.equal(corner.a, 0, `empty corner ${show(corner)}`)
      // The splat fades out towards its reach: half a radius away it is weaker than at the centre.
      const aside = await pixel(page, [at(5, 5)[0] + 12, at(5, 5)[1]])
      assert.ok(aside.a > 0 && !isRed(aside), `half a radius from the hot centre ${show(aside)}`)

      assert.equal(await countAt(page, at(5, 5)), 100)
      assert.equal(await countAt(page, [at(15, 5)[0] - 9, at(15, 5)[1] + 7]), 50, 'anywhere in the cell')
      assert.equal(await countAt(page, at(10, 14)), 0)
      assert.equal(await countAt(page, at(2, 2)), 0, 'no cell there')

      const legend = await page.evaluate(() => window.current!.renderer.legend())
      assert.equal(legend.max, 100)
      assert.equal(legend.peak, 100)
      assert.deepEqual(
        legend.stops.map((s) => s.value),
        [0, 25, 50, 75, 100],
      )
      assert.equal(legend.stops[0]!.color, 'rgba(0, 0, 255, 0)')
      assert.equal(legend.stops[4]!.color, 'rgba(255, 0, 0, 1)')
      // The medium cell (50) is drawn in the legend's colour for 50.
      const [r, g, b, a] = legend.stops[2]!.color.match(/[\d.]+/g)!.map(Number) as [
        number,
        number,
        number,
        number,
      ]
      for (const [got, want] of [
        [medium.r, r],
        [medium.g, g],
        [medium.b, b],
        [medium.a, a * 255],
      ] as const)
        assert.ok(
          Math.abs(got - want) <= 8,
          `medium ${show(medium)} against the legend's ${legend.stops[2]!.color}`,
        )
    })
  },
)

test('the legend follows overlapping splats and the intensity', LIMIT, async () => {
  await withPage(async (page) => {
    // Two cells one column (20 px) apart: each centre also gets the other's splat.
    await scene(
      page,
      grid([
        [5, 5, 60],
        [6, 5, 60],
      ]),
    )
    const legend = await page.evaluate(() => window.current!.renderer.legend())
    const peak = 60 * (1 + kernelAt(20, STYLE.radius))
    assert.ok(Math.abs(legend.peak - peak) < 1e-6, `peak ${legend.peak}, expected ${peak}`)
    assert.ok(isRed(await pixel(page, at(5, 5))), 'the peak takes the hottest colour')

    await scene(
      page,
      grid([
        [5, 5, 100],
        [15, 5, 50],
      ]),
      { intensity: 2 },
    )
    const doubled = await page.evaluate(() => window.current!.renderer.legend())
    assert.equal(doubled.max, 50, 'at intensity 2 the hottest colour is reached at half the peak')
    assert.equal(doubled.peak, 100)
    const medium = await pixel(page, at(15, 5))
    assert.ok(isRed(medium) && medium.a >= 250, `the medium cell at intensity 2 ${show(medium)}`)
  })
})

test('addDelta warms a cold spot and adds to the counts', LIMIT, async () => {
  await withPage(async (page) => {
    await scene(page, grid([[5, 5, 100]]))
    const cold = at(14, 12)
    assert.equal((await pixel(page, cold)).a, 0)
    await page.evaluate(() => window.current!.renderer.addDelta([[14, 12, 30]]))
    const warm = await pixel(page, cold)
    assert.ok(warm.a > 0 && !isRed(warm), `after +30 ${show(warm)}`)
    assert.equal(await countAt(page, cold), 30)
    await page.evaluate(() => window.current!.renderer.addDelta([[14, 12, 70]]))
    const hot = await pixel(page, cold)
    assert.ok(isRed(hot) && hot.a > warm.a, `after +70 more ${show(hot)}`)
    assert.equal(await countAt(page, cold), 100)
    await page.evaluate(() => window.current!.renderer.addDelta([[5, 5, 100]]))
    assert.equal(await countAt(page, at(5, 5)), 200)
    assert.equal((await page.evaluate(() => window.current!.renderer.legend())).max, 200)
    const cooler = await pixel(page, cold)
    assert.ok(!isRed(cooler), `the +100 cell beside a 200 one is no longer the hottest: ${show(cooler)}`)
  })
})

test(
  'scrolling moves the splats with the document, and cells just outside the view still reach into it',
  LIMIT,
  async () => {
    await withPage(async (page) => {
      await scene(page, grid([[5, 10, 100]]))
      const before = await centroid(page, at(5, 10))
      assert.ok(
        Math.abs(before.x - at(5, 10)[0]) < 0.75 && Math.abs(before.y - at(5, 10)[1]) < 0.75,
        JSON.stringify(before),
      )
      await page.evaluate((v) => window.current!.renderer.setView({ ...v, scrollY: 100 }), VIEW)
      const after = await centroid(page, [at(5, 10)[0], at(5, 10)[1] - 100])
      assert.ok(Math.abs(after.x - before.x) < 0.75, `x moved: ${before.x} → ${after.x}`)
      assert.ok(
        Math.abs(after.y - (before.y - 100)) < 0.75,
        `y after scrolling 100 px: ${after.y}, was ${before.y}`,
      )
      assert.equal((await pixel(page, at(5, 10))).a, 0, 'nothing left where the cell was')
      assert.equal(await countAt(page, [at(5, 10)[0], at(5, 10)[1] - 100]), 100)

      // Splats reaching in from cells out of view are drawn too. With a 60 px radius (sigma 20), band 10's
      // centre (168 px down) sits 40 px above the view scrolled to 208, band 34's (552 px) 44 px below it.
      await page.evaluate(
        ([v, cells]) => {
          const h = window.current!.renderer
          h.setGrid({ xCells: 20, yBandPx: 16, cells })
          h.setStyle({ radius: 60 })
          h.setView({ ...v, scrollY: 208 })
        },
        [
          VIEW,
          [
            [5, 10, 100],
            [15, 34, 100],
          ],
        ] as const,
      )
      const top = await pixel(page, [at(5, 10)[0], 0])
      const bottom = await pixel(page, [at(15, 34)[0], 299])
      assert.ok(top.a > 20, `top edge under a cell 40 px above the view ${show(top)}`)
      assert.ok(bottom.a > 20, `bottom edge over a cell 44 px below the view ${show(bottom)}`)
      assert.equal(await countAt(page, [at(5, 10)[0], 0]), 0, 'the cells themselves are out of view')
      assert.equal(await countAt(page, [at(15, 34)[0], 299]), 0)
    })
  },
)

test('a resize keeps every cell at its place, at devicePixelRatio 2', LIMIT, async () => {
  await withPage(async (page) => {
    await scene(
      page,
      grid([
        [5, 5, 100],
        [15, 12, 80],
      ]),
    )
    const a1 = await centroid(page, at(5, 5))
    const b1 = await centroid(page, at(15, 12))
    const size1 = await page.evaluate(() => window.current!.renderer.stats())
    assert.deepEqual([size1.width, size1.height], [800, 600], 'drawing buffer in device pixels')
    // The same document shown twice as large: every position doubles.
    await page.evaluate(() =>
      window.current!.renderer.setView({ cssWidth: 800, cssHeight: 600, scrollY: 0, documentWidth: 400 }),
    )
    const a2 = await centroid(page, [a1.x * 2, a1.y * 2], 80)
    const b2 = await centroid(page, [b1.x * 2, b1.y * 2], 80)
    const size2 = await page.evaluate(() => window.current!.renderer.stats())
    assert.deepEqual([size2.width, size2.height], [1600, 1200])
    assert.equal(await page.evaluate(() => window.current!.canvas.style.width), '800px')
    for (const [before, now] of [
      [a1, a2],
      [b1, b2],
    ] as const) {
      assert.ok(Math.abs(now.x / 800 - before.x / 400) < 0.002, `x: ${before.x}/400 → ${now.x}/800`)
      assert.ok(Math.abs(now.y / 600 - before.y / 300) < 0.002, `y: ${before.y}/300 → ${now.y}/600`)
    }
    assert.ok(Math.abs(a1.x - at(5, 5)[0]) < 0.75 && Math.abs(a1.y - at(5, 5)[1]) < 0.75, JSON.stringify(a1))
    assert.equal(await countAt(page, [a2.x, a2.y]), 100)
    assert.equal(await countAt(page, [b2.x, b2.y]), 80)
  }, 2)
})

test('opacity multiplies the alpha; at 0 the canvas is transparent', LIMIT, async () => {
  await withPage(async (page) => {
    await scene(
      page,
      grid([
        [5, 5, 100],
        [15, 5, 50],
      ]),
      { opacity: 0.5 },
    )
    const half = await pixel(page, at(5, 5))
    assert.ok(Math.abs(half.a - 128) <= 2 && isRed(half), `hot centre at opacity 0.5 ${show(half)}`)
    await page.evaluate(() => window.current!.renderer.setStyle({ opacity: 0 }))
    assert.equal(await page.evaluate(() => window.current!.maxAlpha()), 0)
    await page.evaluate(() => window.current!.renderer.setStyle({ opacity: 1 }))
    assert.ok((await page.evaluate(() => window.current!.maxAlpha())) >= 250, 'back at opacity 1')
  })
})

test('the diverging ramp draws losses in blue, gains in red and no change not at all', LIMIT, async () => {
  await withPage(async (page) => {
    await scene(
      page,
      grid([
        [5, 5, -80],
        [15, 5, 80],
        [10, 12, 0],
        [10, 16, -20],
      ]),
      { ramp: 'diverging' },
    )
    const loss = await pixel(page, at(5, 5))
    const gain = await pixel(page, at(15, 5))
    const none = await pixel(page, at(10, 12))
    const small = await pixel(page, at(10, 16))
    assert.ok(isBlue(loss) && loss.a >= 240, `-80 ${show(loss)}`)
    assert.ok(isRed(gain) && gain.a >= 240, `+80 ${show(gain)}`)
    assert.equal(none.a, 0, `0 ${show(none)}`)
    assert.ok(small.b > small.r && small.a > 0 && small.a < loss.a, `-20 ${show(small)}`)
    assert.equal(await countAt(page, at(5, 5)), -80)
    const legend = await page.evaluate(() => window.current!.renderer.legend())
    assert.equal(legend.max, 80)
    assert.deepEqual(
      legend.stops.map((s) => s.value),
      [-80, -40, 0, 40, 80],
    )
    assert.match(legend.stops[2]!.color, /, 0\)$/, 'no change is transparent in the legend too')
  })
})

test(
  'a shared scale draws the same value in the same colour on two maps, counts and differences alike',
  LIMIT,
  async () => {
    await withPage(async (page) => {
      // Two sides of a comparison: A's busiest cell is 100, B's only 50.
      const colours = await page.evaluate(
        ([view, style, a, b, p, q]) => {
          const sideA = window.hmTest.scene()
          const sideB = window.hmTest.scene()
          for (const [s, cells] of [
            [sideA, a],
            [sideB, b],
          ] as const) {
            s.renderer.setGrid({ xCells: 20, yBandPx: 16, cells })
            s.renderer.setView(view)
            s.renderer.setStyle(style)
          }
          const own = { b50: sideB.pixel(p[0], p[1]), legend: sideB.renderer.legend() }
          // The scale both share: the higher of the two peaks.
          const scale = Math.max(sideA.renderer.legend().peak, sideB.renderer.legend().peak)
          sideA.renderer.setStyle({ scale })
          sideB.renderer.setStyle({ scale })
          return {
            own,
            shared: {
              a100: sideA.pixel(p[0], p[1]),
              a50: sideA.pixel(q[0], q[1]),
              b50: sideB.pixel(p[0], p[1]),
              legend: sideB.renderer.legend(),
            },
          }
        },
        [
          VIEW,
          STYLE,
          [
            [5, 5, 100],
            [15, 5, 50],
          ],
          [
            [5, 5, 50],
            [15, 5, 25],
          ],
          at(5, 5),
          at(15, 5),
        ] as const,
      )
      assert.ok(
        isRed(colours.own.b50),
        `alone, B's busiest cell takes the hottest colour ${show(colours.own.b50)}`,
      )
      assert.deepEqual([colours.own.legend.max, colours.own.legend.peak], [50, 50])
      assert.ok(isRed(colours.shared.a100) && colours.shared.a100.a >= 250, show(colours.shared.a100))
      assert.ok(
        !isRed(colours.shared.b50),
        `on A's scale B's 50 is no longer hot ${show(colours.shared.b50)}`,
      )
      for (const k of ['r', 'g', 'b', 'a'] as const)
        assert.ok(
          Math.abs(colours.shared.b50[k] - colours.shared.a50[k]) <= 2,
          `50 on B ${show(colours.shared.b50)}, 50 on A ${show(colours.shared.a50)}`,
        )
      assert.deepEqual(
        [colours.shared.legend.max, colours.shared.legend.peak],
        [100, 50],
        'the legend spans the shared scale and still knows its own peak',
      )

      // A difference map on a fixed scale: −50 of ±100 is the legend's −50 colour, not the deepest blue.
      await scene(
        page,
        grid([
          [5, 5, -50],
          [15, 5, 25],
        ]),
        { ramp: 'diverging', scale: 100 },
      )
      const loss = await pixel(page, at(5, 5))
      const gain = await pixel(page, at(15, 5))
      const legend = await page.evaluate(() => window.current!.renderer.legend())
      assert.deepEqual(
        legend.stops.map((s) => s.value),
        [-100, -50, 0, 50, 100],
      )
      const [r, g, b, a] = legend.stops[1]!.color.match(/[\d.]+/g)!.map(Number) as [
        number,
        number,
        number,
        number,
      ]
      for (const [got, want] of [
        [loss.r, r],
        [loss.g, g],
        [loss.b, b],
        [loss.a, a * 255],
      ] as const)
        assert.ok(
          Math.abs(got - want) <= 8,
          `−50 ${show(loss)} against the legend's ${legend.stops[1]!.color}`,
        )
      assert.ok(gain.r > gain.b && gain.a > 40 && gain.a < loss.a, `+25 is a pale red ${show(gain)}`)

      // A bad scale is refused by name; no scale is the field's own peak again.
      const bad = await page.evaluate(() =>
        window.hmTest.codeOf(() => window.current!.renderer.setStyle({ scale: 0 })),
      )
      assert.match(bad ?? '', /^HM_ERR_HEATMAP_BAD_STYLE: .*scale 0/)
      await page.evaluate(() => window.current!.renderer.setStyle({ scale: undefined }))
      const deep = await pixel(page, at(5, 5))
      assert.ok(isBlue(deep) && deep.a >= 240, `on its own peak −50 is the deepest blue ${show(deep)}`)
    })
  },
)

test('a grid of one column is drawn as full-width bands', LIMIT, async () => {
  await withPage(async (page) => {
    await scene(
      page,
      grid(
        [
          [0, 5, 100],
          [0, 6, 100],
          [0, 7, 100],
        ],
        1,
      ),
    )
    const y = (6 + 0.5) * BAND
    const row = await Promise.all([5, 200, 395].map((x) => pixel(page, [x, y])))
    for (const p of row) assert.ok(isRed(p) && p.a >= 240, `across the band ${show(p)}`)
    assert.equal(new Set(row.map(show)).size, 1, `one colour across: ${row.map(show).join(' ')}`)
    // Even with splats narrower than a band, bands blend into one another instead of leaving stripes.
    await page.evaluate(() => window.current!.renderer.setStyle({ radius: 9 }))
    const centre = await pixel(page, [200, y])
    const between = await pixel(page, [200, 6 * BAND])
    assert.ok(between.a >= 0.8 * centre.a, `between bands ${show(between)}, band centre ${show(centre)}`)
    const off = await pixel(page, [200, 280])
    assert.equal(off.a, 0, `far below the bands ${show(off)}`)
    assert.equal(await countAt(page, [390, y]), 100)
  })
})

test(
  'full-width rows read their own values: a run of one value is drawn and scaled at that value',
  LIMIT,
  async () => {
    await withPage(async (page) => {
      // A scroll-depth curve: 8 page views saw rows 0–9, 4 saw rows 10–19.
      const cells: HeatmapCell[] = []
      for (let y = 0; y < 20; y++) cells.push([0, y, y < 10 ? 8 : 4])
      await scene(page, grid(cells, 1))
      const legend = await page.evaluate(() => window.current!.renderer.legend())
      assert.ok(
        Math.abs(legend.peak - 8) < 0.05,
        `the legend's peak is the rows' 8, not their overlap: ${legend.peak}`,
      )
      const hot = await pixel(page, [200, (5 + 0.5) * BAND])
      assert.ok(isRed(hot) && hot.a >= 240, `in the run of 8 ${show(hot)}`)
      // The run of 4 is drawn in the legend's colour for 4 (half the scale).
      const half = await pixel(page, [200, (15 + 0.5) * BAND])
      const [r, g, b, a] = legend.stops[2]!.color.match(/[\d.]+/g)!.map(Number) as [
        number,
        number,
        number,
        number,
      ]
      assert.ok(Math.abs(legend.stops[2]!.value - 4) < 0.05, `the middle stop ${legend.stops[2]!.value}`)
      for (const [got, want] of [
        [half.r, r],
        [half.g, g],
        [half.b, b],
        [half.a, a * 255],
      ] as const)
        assert.ok(
          Math.abs(got - want) <= 12,
          `the run of 4 ${show(half)} against the legend's ${legend.stops[2]!.color}`,
        )
    })
  },
)

test('a 50,000 px page of 100k cells draws only what is in view and reuses its buffers', LIMIT, async () => {
  await withPage(async (page) => {
    const r = await page.evaluate(
      ([view, style]) => {
        const cells: Array<[number, number, number]> = []
        for (let y = 0; y < 3125; y++)
          for (let x = 0; x < 32; x++)
            cells.push([x, y, x === 16 && y === 1600 ? 1000 : 1 + ((x * 7 + y * 13) % 10)])
        const s = window.hmTest.scene()
        window.current = s
        s.renderer.setGrid({ xCells: 32, yBandPx: 16, cells })
        s.renderer.setStyle(style)
        // Band 1600's centre (25,608 px) 150 px down the view.
        s.renderer.setView({ ...view, scrollY: 1600 * 16 + 8 - 150 })
        const hot = s.pixel(((16 + 0.5) / 32) * 400, 150)
        const first = s.renderer.stats()
        for (let i = 0; i < 60; i++) {
          s.renderer.setView({ ...view, scrollY: i * 800 })
          s.renderer.render()
        }
        const scrolled = s.renderer.stats()
        s.renderer.addDelta([[3, 4000, 5]])
        s.renderer.render()
        const grown = s.renderer.stats()
        for (let i = 1; i <= 20; i++) {
          s.renderer.addDelta([[3, 4000 + i, 5]])
          s.renderer.render()
        }
        return { hot, first, scrolled, grown, last: s.renderer.stats(), peak: s.renderer.legend().peak }
      },
      [VIEW, STYLE] as const,
    )
    assert.ok(isRed(r.hot) && r.hot.a >= 250, `the hot cell ${show(r.hot)}`)
    assert.equal(r.first.cells, 100_000)
    // 300 px of view and 24 px of reach either side: about 23 bands of 32 cells.
    assert.ok(r.first.drawn > 0 && r.first.drawn <= 30 * 32, `drew ${r.first.drawn} of 100,000 cells`)
    assert.ok(r.peak >= 1000, `peak ${r.peak}`)
    assert.equal(r.scrolled.uploads, r.first.uploads, 'scrolling uploads nothing')
    assert.equal(r.scrolled.allocations, r.first.allocations, 'scrolling allocates no buffer')
    assert.equal(
      r.grown.allocations,
      r.first.allocations + 1,
      'a new cell past the capacity grows the buffer',
    )
    assert.equal(r.last.allocations, r.grown.allocations, 'and the next 20 new cells fit in what it grew to')
    assert.equal(r.last.uploads, r.grown.uploads + 20)
    assert.equal(r.last.cells, 100_021)
  })
})

test('a lost context is rebuilt and drawn again when the browser restores it', LIMIT, async () => {
  await withPage(async (page) => {
    await scene(page, grid([[5, 5, 100]]))
    assert.ok(isRed(await pixel(page, at(5, 5))))
    const r = await page.evaluate(
      async ([x, y]) => {
        const s = window.current!
        const lose = s.canvas.getContext('webgl2')!.getExtension('WEBGL_lose_context')!
        const lost = new Promise((resolve) =>
          s.canvas.addEventListener('webglcontextlost', resolve, { once: true }),
        )
        lose.loseContext()
        await lost
        // Chromium allows a restore only once the lost event's dispatch is over, not from its microtasks.
        await new Promise((resolve) => setTimeout(resolve, 0))
        s.renderer.render() // a frame while lost draws nothing and does not throw
        const exported = await s.renderer.toPNG().then(
          () => 'exported',
          (e: { code?: string }) => e.code,
        )
        const formatWhileLost = s.renderer.stats().format
        const restored = new Promise((resolve) =>
          s.canvas.addEventListener('webglcontextrestored', resolve, { once: true }),
        )
        lose.restoreContext()
        const late = new Promise((resolve) => setTimeout(resolve, 20_000, 'no webglcontextrestored in 20 s'))
        const waited = await Promise.race([restored, late])
        if (typeof waited === 'string') throw new Error(waited)
        // The renderer listened first: it has rebuilt and drawn before this runs.
        return { exported, formatWhileLost, redrawn: s.peek(x, y), format: s.renderer.stats().format }
      },
      at(5, 5),
    )
    assert.equal(r.exported, 'HM_ERR_HEATMAP_CONTEXT_LOST')
    assert.equal(r.formatWhileLost, undefined)
    assert.ok(r.format !== undefined)
    assert.ok(isRed(r.redrawn) && r.redrawn.a >= 250, `redrawn after restore ${show(r.redrawn)}`)
    assert.ok(isRed(await pixel(page, at(5, 5))))
  })
})

test('toPNG exports what is drawn as a PNG', LIMIT, async () => {
  await withPage(async (page) => {
    await scene(page, grid([[5, 5, 100]]))
    const r = await page.evaluate(async () => {
      const blob = await window.current!.renderer.toPNG()
      return { type: blob.type, bytes: Array.from(new Uint8Array(await blob.arrayBuffer())) }
    })
    assert.equal(r.type, 'image/png')
    const png = decodePng(Buffer.from(r.bytes))
    assert.deepEqual([png.width, png.height], [400, 300])
    const [x, y] = at(5, 5)
    const [pr, pg, pb, pa] = png.pixel(Math.floor(x), Math.floor(y))
    assert.ok(pr >= 200 && pg <= 90 && pb <= 90 && pa >= 250, `hot centre in the PNG ${[pr, pg, pb, pa]}`)
    assert.equal(png.pixel(395, 295)[3], 0, 'empty corner transparent in the PNG')
  })
})

test('a bad grid, cell, view or style is refused with its code and changes nothing', LIMIT, async () => {
  await withPage(async (page) => {
    await scene(page, grid([[5, 5, 100]]))
    const r = await page.evaluate(() => {
      const h = window.current!.renderer
      const code = window.hmTest.codeOf
      return {
        cell: code(() =>
          h.setGrid({
            xCells: 20,
            yBandPx: 16,
            cells: [
              [1, 1, 5],
              [20, 3, 1],
            ],
          }),
        ),
        delta: code(() =>
          h.addDelta([
            [2, 2, 1],
            [1, 1.5, 1],
          ]),
        ),
        grid: code(() => h.setGrid({ xCells: 0, yBandPx: 16, cells: [] })),
        view: code(() => h.setView({ cssWidth: 400, cssHeight: 300, scrollY: 0, documentWidth: 0 })),
        style: code(() => h.setStyle({ opacity: 2 })),
        count: h.countAt(110, 88),
        other: h.countAt(30, 24),
      }
    })
    assert.match(r.cell ?? '', /^HM_ERR_HEATMAP_BAD_CELL: .*cell 1 is \[20, 3, 1\]; columns are 0\.\.19/)
    assert.match(r.delta ?? '', /^HM_ERR_HEATMAP_BAD_CELL: .*cell 1 is \[1, 1\.5, 1\]/)
    assert.match(r.grid ?? '', /^HM_ERR_HEATMAP_BAD_GRID: .*xCells/)
    assert.match(r.view ?? '', /^HM_ERR_HEATMAP_BAD_VIEW: .*documentWidth 0/)
    assert.match(r.style ?? '', /^HM_ERR_HEATMAP_BAD_STYLE: .*opacity 2/)
    assert.equal(r.count, 100, 'the grid from before is still there')
    assert.equal(r.other, 0, 'and the good cells of the refused batches were not applied')
    assert.ok(isRed(await pixel(page, at(5, 5))), 'and still drawn')
  })
})

test('setGrid replaces the grid, and a destroyed renderer refuses work', LIMIT, async () => {
  await withPage(async (page) => {
    await scene(page, grid([[5, 5, 100]]))
    await page.evaluate(() =>
      window.current!.renderer.setGrid({ xCells: 20, yBandPx: 16, cells: [[15, 12, 10]] }),
    )
    assert.equal((await pixel(page, at(5, 5))).a, 0, 'the old hot cell is gone')
    assert.equal(await countAt(page, at(5, 5)), 0)
    assert.ok(isRed(await pixel(page, at(15, 12))), 'the new grid has its own peak')
    const code = await page.evaluate(() => {
      const h = window.current!.renderer
      h.destroy()
      h.destroy()
      try {
        h.render()
        return 'rendered'
      } catch (e) {
        return (e as { code?: string }).code
      }
    })
    assert.equal(code, 'HM_ERR_HEATMAP_DESTROYED')
  })
})

test('a scene for the eye: a click map over a page, saved to test-artifacts', LIMIT, async () => {
  await withPage(async (page) => {
    await page.evaluate(
      ([view, style]) => {
        for (const [l, t, w, h] of [
          [20, 16, 360, 40],
          [20, 80, 170, 120],
          [210, 80, 170, 120],
          [20, 220, 360, 60],
        ] as const) {
          const box = document.createElement('div')
          box.className = 'box'
          box.style.cssText = `left:${l}px;top:${t}px;width:${w}px;height:${h}px`
          document.body.append(box)
        }
        const s = window.hmTest.scene()
        window.current = s
        const cells: Array<[number, number, number]> = []
        // A hot button, a warm link row and a scatter of single clicks.
        for (const [x, y, n] of [
          [4, 8, 120],
          [5, 8, 90],
          [4, 9, 60],
          [14, 8, 45],
          [15, 8, 30],
          [10, 15, 25],
          [11, 15, 20],
          [2, 2, 8],
          [17, 3, 5],
          [8, 12, 3],
        ] as const)
          cells.push([x, y, n])
        s.renderer.setGrid({ xCells: 20, yBandPx: 16, cells })
        s.renderer.setView(view)
        s.renderer.setStyle({ ...style, opacity: 0.85 })
        s.renderer.render()
      },
      [VIEW, STYLE] as const,
    )
    mkdirSync(artifacts, { recursive: true })
    const path = `${artifacts}heatmap-renderer.png`
    const shot = await page.screenshot({ path, clip: { x: 0, y: 0, width: 400, height: 300 } })
    console.log(`heatmap renderer scene: ${path}`)
    const png = decodePng(shot)
    const [x, y] = at(4, 8)
    const [hr, hg, hb] = png.pixel(Math.floor(x), Math.floor(y))
    assert.ok(hr >= 200 && hg <= 100 && hb <= 100, `hottest cell on the page ${[hr, hg, hb]}`)
    assert.deepEqual(
      png.pixel(398, 298).slice(0, 3),
      [255, 255, 255],
      'the page shows through where nothing was clicked',
    )
  })
})
