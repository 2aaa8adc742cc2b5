import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Resvg } from '@resvg/resvg-js'

export const exportFormats = ['png', 'svg', 'csv', 'json'] as const
export type ExportFormat = (typeof exportFormats)[number]

/** Longest side and most pixels of an export: A2 at 300 dpi (4961 × 7016) fits. */
export const MAX_EXPORT_SIDE = 10_000
export const MAX_EXPORT_PIXELS = 40_000_000
/** Most cells drawn: past it, ask for a coarser resolution. */
export const MAX_EXPORT_CELLS = 250_000

export interface HeatmapImage {
  /** `[x, y, value]` at `xCells` columns across the width and `yBandPx` px per row. */
  cells: ReadonlyArray<readonly [number, number, number]>
  xCells: number
  yBandPx: number
  /** Size of the output in px. Without a height, the map keeps the document's aspect. */
  width: number
  height?: number | undefined
  /** The document the map covers (px); its height defaults to the deepest row with data. */
  docWidthPx?: number | undefined
  docHeightPx?: number | undefined
  title: string
  subtitle?: string | undefined
  /** What a value counts, for the legend (`clicks`, `ms`, `page views`…). */
  unit: string
  /** Diverging colours around zero (a comparison's difference grid). */
  diverging?: boolean | undefined
}

const FONT_DIR = '/usr/share/fonts/truetype/dejavu'
const FONT_FAMILY = 'DejaVu Sans'
/** Sequential stops, cold to hot: what heatmap readers expect. */
const HEAT: Array<[number, [number, number, number]]> = [
  [0, [0, 0, 255]],
  [0.25, [0, 255, 255]],
  [0.5, [0, 255, 0]],
  [0.75, [255, 255, 0]],
  [1, [255, 0, 0]],
]
const DIVERGING: Array<[number, [number, number, number]]> = [
  [0, [33, 102, 172]],
  [0.5, [247, 247, 247]],
  [1, [178, 24, 43]],
]

function lerpColor(stops: Array<[number, [number, number, number]]>, t: number): [number, number, number] {
  const v = Math.min(1, Math.max(0, t))
  for (let i = 1; i < stops.length; i++) {
    const [t1, c1] = stops[i]!
    if (v <= t1) {
      const [t0, c0] = stops[i - 1]!
      const f = t1 === t0 ? 0 : (v - t0) / (t1 - t0)
      return [0, 1, 2].map((k) => Math.round(c0[k]! + (c1[k]! - c0[k]!) * f)) as [number, number, number]
    }
  }
  return stops.at(-1)![1]
}

const hex = (c: [number, number, number]): string =>
  `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`
const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!,
  )
const fmt = (n: number): string =>
  Math.abs(n) >= 100 || Number.isInteger(n) ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3)

/** The size of the output, checked against the export limits (RangeError names the bad field). */
export function exportSize(
  img: Pick<HeatmapImage, 'width' | 'height'>,
  naturalHeight: number,
): { w: number; h: number } {
  const w = img.width
  const h = img.height ?? Math.min(MAX_EXPORT_SIDE, Math.max(200, Math.round(naturalHeight)))
  if (!Number.isInteger(w) || w < 100 || w > MAX_EXPORT_SIDE)
    throw new RangeError(`width: ${w} is not an integer from 100 to ${MAX_EXPORT_SIDE}`)
  if (!Number.isInteger(h) || h < 100 || h > MAX_EXPORT_SIDE)
    throw new RangeError(`height: ${h} is not an integer from 100 to ${MAX_EXPORT_SIDE}`)
  if (w * h > MAX_EXPORT_PIXELS)
    throw new RangeError(`width × height: ${w * h} px is over ${MAX_EXPORT_PIXELS}`)
  return { w, h }
}

/**
 * The heatmap as an SVG document: title, the document outline with one rectangle per cell coloured by
 * its value against the largest one, and a legend (colour bar from 0 to the largest value, with its unit).
 * Text is set in DejaVu Sans so the PNG rasteriser finds the same font.
 */
export function renderHeatmapSvg(img: HeatmapImage): string {
  if (img.cells.length > MAX_EXPORT_CELLS)
    throw new RangeError(
      `cells: ${img.cells.length} cells is over ${MAX_EXPORT_CELLS}; ask for a coarser resolution`,
    )
  let maxY = 0
  let max = 0
  for (const [, y, v] of img.cells) {
    maxY = Math.max(maxY, y)
    max = Math.max(max, Math.abs(v))
  }
  const docW = img.docWidthPx ?? 1280
  const docH = img.docHeightPx ?? Math.max(img.yBandPx, (maxY + 1) * img.yBandPx)
  const pad = Math.max(8, Math.round(img.width * 0.02))
  const titleSize = Math.max(10, Math.round(img.width * 0.028))
  const head = pad + titleSize * (img.subtitle ? 2.6 : 1.4)
  const legendH = Math.max(36, Math.round(img.width * 0.07))
  const mapW = img.width - 2 * pad
  const { w, h } = exportSize(img, head + legendH + pad + (mapW * docH) / docW)
  // The document fits in the map area, keeping its aspect.
  const areaH = h - head - legendH - pad
  if (areaH < 20) throw new RangeError(`height: ${h} px leaves no room for the map`)
  const scale = Math.min(mapW / docW, areaH / docH)
  const mw = docW * scale
  const mh = docH * scale
  const mx = pad + (mapW - mw) / 2
  const my = head
  const cw = mw / img.xCells
  const ch = img.yBandPx * scale
  const stops = img.diverging ? DIVERGING : HEAT
  const colorOf = (v: number): string =>
    hex(lerpColor(stops, img.diverging ? 0.5 + (max > 0 ? v / max : 0) / 2 : max > 0 ? v / max : 0))
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${FONT_FAMILY}">`,
    `<rect width="${w}" height="${h}" fill="#ffffff"/>`,
    `<text x="${pad}" y="${pad + titleSize}" font-size="${titleSize}" font-weight="bold" fill="#111111">${esc(img.title)}</text>`,
  ]
  if (img.subtitle)
    parts.push(
      `<text x="${pad}" y="${pad + titleSize * 2.2}" font-size="${Math.round(titleSize * 0.7)}" fill="#444444">${esc(img.subtitle)}</text>`,
    )
  parts.push(
    `<rect x="${mx.toFixed(2)}" y="${my.toFixed(2)}" width="${mw.toFixed(2)}" height="${mh.toFixed(2)}" fill="#f4f4f4" stroke="#bbbbbb"/>`,
    '<g shape-rendering="crispEdges">',
  )
  for (const [x, y, v] of img.cells) {
    if (v === 0 || y * img.yBandPx >= docH) continue
    const t = max > 0 ? Math.abs(v) / max : 0
    // Faint cells stay see-through so the outline reads; the hot ones are opaque.
    const opacity = img.diverging ? 1 : 0.35 + 0.65 * t
    parts.push(
      `<rect x="${(mx + x * cw).toFixed(2)}" y="${(my + y * ch).toFixed(2)}" width="${cw.toFixed(2)}" height="${ch.toFixed(2)}" fill="${colorOf(v)}"${opacity < 1 ? ` fill-opacity="${opacity.toFixed(3)}"` : ''}/>`,
    )
  }
  parts.push('</g>')
  // Legend: the colour bar and its two ends.
  const ly = h - legendH
  const barW = Math.min(mapW * 0.6, 600 * (img.width / 1000) + 200)
  const barH = Math.max(8, Math.round(legendH * 0.3))
  const labelSize = Math.max(9, Math.round(legendH * 0.28))
  parts.push(
    '<defs><linearGradient id="legend" x1="0" x2="1" y1="0" y2="0">',
    ...stops.map(([t, c]) => `<stop offset="${t}" stop-color="${hex(c)}"/>`),
    '</linearGradient></defs>',
    `<rect x="${pad}" y="${ly}" width="${barW.toFixed(2)}" height="${barH}" fill="url(#legend)" stroke="#888888"/>`,
    `<text x="${pad}" y="${ly + barH + labelSize + 2}" font-size="${labelSize}" fill="#111111">${img.diverging ? `−${fmt(max)}` : '0'}</text>`,
    `<text x="${(pad + barW).toFixed(2)}" y="${ly + barH + labelSize + 2}" font-size="${labelSize}" text-anchor="end" fill="#111111">${img.diverging ? '+' : ''}${fmt(max)} ${esc(img.unit)}</text>`,
    '</svg>',
  )
  return parts.join('\n')
}

let fontFiles: string[] | undefined

/** The SVG rasterised with resvg, with DejaVu Sans loaded from the system's font directory. */
export function renderHeatmapPng(img: HeatmapImage): Buffer {
  const svg = renderHeatmapSvg(img)
  fontFiles ??= ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf']
    .map((f) => join(FONT_DIR, f))
    .filter((f) => existsSync(f))
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'original' },
    font: {
      fontFiles,
      // Without DejaVu on the machine, any installed sans-serif font beats no text.
      loadSystemFonts: fontFiles.length === 0,
      defaultFontFamily: FONT_FAMILY,
    },
  })
  return resvg.render().asPng()
}

/** The cells as CSV: column and row index, their extent (share of the width, document px) and value. */
export function renderHeatmapCsv(
  cells: ReadonlyArray<readonly [number, number, number]>,
  xCells: number,
  yBandPx: number,
): string {
  const lines = ['cell_x,cell_y,x_from,x_to,y_from_px,y_to_px,value']
  for (const [x, y, v] of cells) {
    lines.push(`${x},${y},${x / xCells},${(x + 1) / xCells},${y * yBandPx},${(y + 1) * yBandPx},${v}`)
  }
  return `${lines.join('\n')}\n`
}
