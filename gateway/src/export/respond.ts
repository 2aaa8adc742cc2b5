import {
  type ExportFormat,
  type HeatmapCells,
  type HeatmapType,
  renderHeatmapCsv,
  renderHeatmapPng,
  renderHeatmapSvg,
  type Segment,
} from '@hm/actors'
import type { FastifyReply } from 'fastify'

export interface ExportRequest {
  format: ExportFormat
  siteId: string
  page: string
  type: HeatmapType
  segment: Segment
  from: number
  to: number
  heatmap: HeatmapCells
  /** Image size in px (PNG, SVG); the height follows the document's aspect when not given. */
  width: number
  height?: number | undefined
  /** Layout width the map is drawn for (the grid is relative to it). */
  docWidth: number
}

const UNITS: Record<HeatmapType, string> = {
  click: 'clicks',
  move: 'rested cursors',
  scroll: 'page views reaching',
  attention: 'visible ms',
  rage: 'rage bursts',
  dead: 'dead clicks',
  pageview: 'page views',
}

const day = (ms: number): string => new Date(ms).toISOString().replace(':00.000Z', 'Z').replace('T', ' ')

/** A file name safe in a Content-Disposition header: the page path flattened. */
function fileName(r: ExportRequest): string {
  const page = r.page.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'home'
  return `heatmap-${r.type}-${page}.${r.format}`
}

/**
 * Sends a heatmap export: PNG and SVG drawn server-side from the cells with a title, the range (UTC) and
 * segment, and a legend; CSV one line per cell; JSON the cells answer itself. RangeErrors from the
 * renderer (size out of bounds) propagate for the caller to turn into a 400.
 */
export function sendExport(reply: FastifyReply, r: ExportRequest): FastifyReply {
  const h = r.heatmap
  void reply.header('content-disposition', `attachment; filename="${fileName(r)}"`)
  if (r.format === 'json') {
    return reply.type('application/json').send({
      siteId: r.siteId,
      page: r.page,
      type: r.type,
      from: r.from,
      to: r.to,
      ...r.segment,
      xCells: h.xCells,
      yBandPx: h.yBandPx,
      total: h.total,
      cells: h.cells,
    })
  }
  if (r.format === 'csv')
    return reply.type('text/csv; charset=utf-8').send(renderHeatmapCsv(h.cells, h.xCells, h.yBandPx))
  const seg = [r.segment.viewport, r.segment.device, r.segment.country].filter((s) => s !== undefined)
  const image = {
    cells: h.cells,
    xCells: h.xCells,
    yBandPx: h.yBandPx,
    width: r.width,
    height: r.height,
    docWidthPx: r.docWidth,
    title: `${UNITS[r.type][0]!.toUpperCase()}${UNITS[r.type].slice(1)} on ${r.page}`,
    subtitle: `${day(r.from)} – ${day(r.to)} (UTC)${seg.length > 0 ? ` · ${seg.join(' · ')}` : ''} · total ${h.total.toLocaleString('en-US')}`,
    unit: UNITS[r.type],
  }
  if (r.format === 'svg') return reply.type('image/svg+xml').send(renderHeatmapSvg(image))
  return reply.type('image/png').send(renderHeatmapPng(image))
}
