import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type HeatmapImage,
  MAX_EXPORT_SIDE,
  renderHeatmapCsv,
  renderHeatmapPng,
  renderHeatmapSvg,
} from '../../src/index.ts'
import { decodePng } from '../helpers/png.ts'

const image: HeatmapImage = {
  cells: [
    [64, 6, 50],
    [0, 0, 5],
    [127, 187, 20],
  ],
  xCells: 128,
  yBandPx: 16,
  width: 800,
  docWidthPx: 1280,
  docHeightPx: 3000,
  title: 'Clicks on /pricing',
  subtitle: '2026-11-01 – 2026-11-30 (UTC), desktop',
  unit: 'clicks',
}

/** The rectangle an SVG draws in `fill`, as numbers. */
function rectOf(svg: string, fill: string): { x: number; y: number; w: number; h: number } {
  const m = new RegExp(
    `<rect x="([\\d.]+)" y="([\\d.]+)" width="([\\d.]+)" height="([\\d.]+)" fill="${fill}"`,
  ).exec(svg)
  assert.ok(m, `no rect in ${fill}`)
  return { x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]) }
}

describe('heatmap export', () => {
  test('SVG: one rectangle per cell, the hottest red, a title and a legend from 0 to the maximum', () => {
    const svg = renderHeatmapSvg(image)
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="800" height="\d+"/)
    const group = svg.slice(svg.indexOf('<g shape-rendering'), svg.indexOf('</g>'))
    assert.equal((group.match(/<rect /g) ?? []).length, 3)
    assert.ok(svg.includes('>Clicks on /pricing</text>'))
    assert.ok(svg.includes('>50 clicks</text>'), 'legend maximum with its unit')
    assert.ok(svg.includes('url(#legend)'))
    const hot = rectOf(svg, '#ff0000')
    const cold = rectOf(svg, '#0066ff') // 5 of 50: 40 % of the way from blue to cyan
    // Cells sit where their document position maps: x 64/128 of the width, y 6 × 16 px scaled.
    assert.ok(hot.x > cold.x && hot.y > cold.y)
    assert.ok(Math.abs(hot.w - hot.h * (1280 / 128 / 16)) < 0.01, 'cells keep the document aspect')
  })

  test('text is escaped', () => {
    assert.ok(
      renderHeatmapSvg({ ...image, title: 'a <b> & "c"' }).includes('a &lt;b&gt; &amp; &quot;c&quot;'),
    )
  })

  test('PNG: the size asked for, the SVG rasterised (hot cell red, background white, legend text drawn)', () => {
    const svg = renderHeatmapSvg({ ...image, height: 1600 })
    const png = decodePng(renderHeatmapPng({ ...image, height: 1600 }))
    assert.deepEqual([png.width, png.height], [800, 1600])
    const hot = rectOf(svg, '#ff0000')
    const [r, g, b, a] = png.pixel(Math.floor(hot.x + hot.w / 2), Math.floor(hot.y + hot.h / 2))
    assert.deepEqual([r, g, b, a], [255, 0, 0, 255])
    assert.deepEqual(png.pixel(1, 1), [255, 255, 255, 255])
    // The title band holds dark text pixels: the font was found.
    let dark = 0
    for (let y = 0; y < 60; y++) for (let x = 0; x < 400; x++) if (png.pixel(x, y)[0] < 80) dark++
    assert.ok(dark > 200, `${dark} dark pixels in the title`)
  })

  test('print resolution is allowed; beyond the limits a RangeError names the field', () => {
    const big = decodePng(renderHeatmapPng({ ...image, width: 3508, height: 4961 }))
    assert.deepEqual([big.width, big.height], [3508, 4961])
    assert.throws(() => renderHeatmapSvg({ ...image, width: MAX_EXPORT_SIDE + 1 }), /width/)
    assert.throws(() => renderHeatmapSvg({ ...image, width: 8000, height: 8000 }), /width × height/)
    assert.throws(() => renderHeatmapSvg({ ...image, height: 50 }), /height/)
  })

  test('diverging colours for a difference grid', () => {
    const svg = renderHeatmapSvg({
      ...image,
      diverging: true,
      cells: [
        [0, 0, -2],
        [1, 0, 2],
        [2, 0, 0.0001],
      ],
      unit: 'per page view',
    })
    assert.ok(svg.includes('fill="#2166ac"'), 'most negative: blue')
    assert.ok(svg.includes('fill="#b2182b"'), 'most positive: red')
    assert.ok(svg.includes('>−2</text>'))
  })

  test('CSV: one line per cell with its extent', () => {
    assert.equal(
      renderHeatmapCsv(
        [
          [0, 0, 5],
          [64, 6, 50],
        ],
        128,
        16,
      ),
      'cell_x,cell_y,x_from,x_to,y_from_px,y_to_px,value\n0,0,0,0.0078125,0,16,5\n64,6,0.5,0.5078125,96,112,50\n',
    )
  })
})
