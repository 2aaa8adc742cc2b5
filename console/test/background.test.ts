/**
 * The page behind the heatmap, end to end: the demo site's home page, clicked on its primary button,
 * shown behind the map in the frame and as the gateway's screenshot; the hot spot stays over that button
 * when the console's window is resized (read by pixels: where the map is red, the page beneath is the
 * button's indigo); a page the gateway cannot load leaves the map on the blank stage with a note.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import type { Page } from 'playwright-core'
import { decodePng } from '../../actors/test/helpers/png.ts'
import { type ConsoleHarness, startConsoleHarness, until } from './helpers/platform.ts'

const artifacts = new URL('../test-artifacts/background/', import.meta.url).pathname
/** The demo home page's primary button (`#hero-cta-primary`), in document px at 1280 px. */
const CTA = { x: 440, y: 420, w: 190, h: 56 }
const CLICK = { x: CTA.x + CTA.w / 2, y: CTA.y + CTA.h / 2 }

let h: ConsoleHarness
let page: Page
let siteId: string

type Rgb = [number, number, number]
const isIndigo = ([r, g, b]: Rgb) => Math.abs(r - 79) < 16 && Math.abs(g - 70) < 16 && Math.abs(b - 229) < 16
const isRed = ([r, g, b]: Rgb) => r > 200 && g < 130 && b < 130

async function shot(name: string): Promise<void> {
  const path = join(artifacts, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  console.log(`screenshot: ${path}`)
}

/** Shows only one of the stage's layers (test-side, for reading each by pixels) or both again. */
const only = (layer: 'map' | 'page' | 'both') =>
  page.evaluate((l) => {
    const canvas = document.querySelector<HTMLElement>('[data-testid="heatmap-canvas"]')!
    const bg = document.querySelector<HTMLElement>('[data-testid="page-background"]')
    canvas.style.visibility = l === 'page' ? 'hidden' : ''
    if (bg !== null) bg.style.visibility = l === 'map' ? 'hidden' : ''
  }, layer)

interface Reading {
  scale: number
  /** Middle of the map's red spot, in page CSS px and in document px. */
  spot: { x: number; y: number }
  doc: { x: number; y: number }
  /** The page's colour under the spot (20 document px above its middle, clear of the button's label). */
  under: Rgb
  /** The page's colour 60 document px below the spot: off the button. */
  below: Rgb
}

/** Where the map is hot, and what the page behind shows there. */
async function read(): Promise<Reading> {
  const box = (await page.getByTestId('heatmap-canvas').boundingBox())!
  const scale = box.width / 1280
  await only('map')
  const map = decodePng(await page.screenshot({ clip: box }))
  let sx = 0
  let sy = 0
  let n = 0
  for (let y = 0; y < map.height; y++)
    for (let x = 0; x < map.width; x++)
      if (isRed(map.pixel(x, y).slice(0, 3) as Rgb)) {
        sx += x
        sy += y
        n++
      }
  await only('page')
  const behind = decodePng(await page.screenshot({ clip: box }))
  await only('both')
  assert.ok(n > 0, 'the map has a hot spot')
  const spot = { x: sx / n, y: sy / n }
  const at = (dy: number) =>
    behind.pixel(Math.round(spot.x), Math.round(spot.y + dy * scale)).slice(0, 3) as Rgb
  return {
    scale,
    spot: { x: box.x + spot.x, y: box.y + spot.y },
    doc: { x: spot.x / scale, y: spot.y / scale },
    under: at(-20),
    below: at(60),
  }
}

/** The spot is where the clicks were, and the page behind shows the clicked button there (and not below). */
function assertAligned(r: Reading, what: string): void {
  assert.ok(
    Math.abs(r.doc.x - CLICK.x) < 12 && Math.abs(r.doc.y - CLICK.y) < 12,
    `${what}: the spot is at the clicks (${r.doc.x.toFixed(0)},${r.doc.y.toFixed(0)})`,
  )
  assert.ok(isIndigo(r.under), `${what}: the button is under the spot, found ${r.under}`)
  assert.ok(!isIndigo(r.below), `${what}: below the button is not the button, found ${r.below}`)
}

async function waitForBackground(mode: 'frame' | 'screenshot'): Promise<void> {
  await page.locator(`[data-testid="page-background"][data-mode="${mode}"][data-state="ready"]`).waitFor({
    timeout: 60_000,
  })
}

/** Resizes the browser window and waits until the stage has been laid out at the new size. */
async function resize(width: number): Promise<void> {
  const before = (await page.getByTestId('heatmap-canvas').boundingBox())!.width
  await page.setViewportSize({ width, height: 900 })
  await until(
    async () => (await page.getByTestId('heatmap-canvas').boundingBox())!.width,
    (w) => w !== before,
  )
  // One more frame: the map is redrawn on the frame after the resize.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
}

before(async () => {
  mkdirSync(artifacts, { recursive: true })
  h = await startConsoleHarness()
  siteId = h.platform.demo!.siteId
  const url = `${h.platform.url}/demo/`
  const screen = { vw: 1280, vh: 900, dw: 1280, dh: 2400 }
  const now = Date.now()
  const sends: Array<Promise<void>> = []
  for (let s = 0; s < 6; s++) {
    const events: WireEvent[] = [
      { type: 'pageview', ts: now - 30_000, url, ...screen },
      ...Array.from(
        { length: 5 },
        (_, i): WireEvent => ({ type: 'click', ts: now - 20_000 + i * 1000, url, ...screen, ...CLICK }),
      ),
    ]
    sends.push(h.send(`bg-${s}`, events))
  }
  await Promise.all(sends)
  const { apiKey } = h.platform.demo!
  await until(
    async () => {
      const r = await fetch(`${h.platform.url}/v1/sites/${siteId}/heatmap?page=/demo&type=click`, {
        headers: { authorization: `Bearer ${apiKey}` },
      })
      return ((await r.json()) as { total: number }).total
    },
    (total) => total === 30,
  )
  page = await (await h.context()).newPage()
  await h.signIn(page)
})

after(async () => {
  await h?.stop()
})

describe('the page behind the heatmap', { timeout: 240_000 }, () => {
  test('the live page in a frame (the demo site allows it), aligned at two window sizes', async () => {
    await page.goto(
      `${h.platform.url}/console/sites/${siteId}/heatmap?page=/demo&type=click&viewport=desktop`,
    )
    await until(
      () => page.getByTestId('heatmap-total').textContent(),
      (t) => t?.replace(/\s+/g, ' ').trim() === '30 clicks',
    )
    await waitForBackground('frame')
    const frame = page.locator('[data-testid="page-background"] iframe')
    assert.equal(await frame.getAttribute('sandbox'), '', 'the frame may run nothing')
    assert.equal(await frame.getAttribute('src'), `${h.platform.url}/demo`)
    assert.match((await page.getByTestId('page-background-status').textContent()) ?? '', /Framed page of/)
    const wide = await until(read, (r) => isIndigo(r.under))
    assertAligned(wide, 'frame, window of 1280 px')
    await shot('frame-1280')

    await resize(1920)
    const wider = await read()
    assert.ok(wider.scale > wide.scale * 1.2, `the stage grew (${wide.scale} → ${wider.scale})`)
    assertAligned(wider, 'frame, wider window')
    await shot('frame-wider')
  })

  test('the gateway`s screenshot, chosen by hand, aligned at two window sizes', async () => {
    await page.getByLabel('Page from').selectOption('screenshot')
    await waitForBackground('screenshot')
    assert.match((await page.getByTestId('page-background-status').textContent()) ?? '', /Screenshot of/)
    const img = page.locator('[data-testid="page-background"] img')
    // The whole demo page at 1280 px (the screenshot's own size, scaled with the stage).
    assert.deepEqual(
      await img.evaluate((i: HTMLImageElement) => [i.naturalWidth, i.naturalHeight]),
      [1280, 2400],
    )
    const wide = await read()
    assertAligned(wide, 'screenshot, wide window')
    await shot('screenshot-wide')

    // Narrower than the two-column layout: the page list moves above the stage.
    await resize(700)
    const narrow = await read()
    assert.ok(narrow.scale < wide.scale * 0.8, `the stage shrank (${wide.scale} → ${narrow.scale})`)
    assertAligned(narrow, 'screenshot, narrow window')
    await shot('screenshot-narrow')
  })

  test('the page can be hidden: the map stays, on the blank stage', async () => {
    await page.getByLabel('Show the page').uncheck()
    await page.locator('[data-testid="page-background"]').waitFor({ state: 'detached' })
    const r = await read()
    assert.ok(!isIndigo(r.under), `nothing of the page behind the map: ${r.under}`)
    await page.getByLabel('Show the page').check()
    await waitForBackground('screenshot')
  })

  test('a page the gateway cannot load: a note, and the map on the blank stage', async () => {
    // Clicks recorded on a path the gateway does not serve (the visitor's site is elsewhere).
    const url = `${h.platform.url}/gone`
    const screen = { vw: 1280, vh: 900, dw: 1280, dh: 2400 }
    await h.send('bg-gone', [
      { type: 'pageview', ts: Date.now() - 10_000, url, ...screen },
      { type: 'click', ts: Date.now() - 5_000, url, ...screen, x: 300, y: 300 },
    ])
    await page.goto(`${h.platform.url}/console/sites/${siteId}/heatmap?page=/gone&type=click`)
    const note = page.locator('[data-testid="page-background-status"][data-note="true"]')
    await note.waitFor()
    assert.match((await note.textContent()) ?? '', /The page is not shown: .*answered 404.*blank stage/)
    assert.equal(await page.locator('[data-testid="page-background"]').count(), 0)
    await page.getByTestId('heatmap-canvas').waitFor()
    assert.deepEqual(h.pageErrors, [])
    await shot('unreachable-note')
  })
})
