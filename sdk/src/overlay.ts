/**
 * The live-site overlay, bundled to `sdk/dist/overlay.js`: draws a page's heatmap over the real page for
 * its owner. The capture script loads it when the page is opened with `#hm-overlay=<site id>:<api key>`
 * (kept in sessionStorage for the tab). It reads the query API of the gateway that served it —
 * `GET /v1/sites/:siteId/heatmap?page=&type=&viewport=` with the key as a Bearer token — and paints the
 * cells on a canvas fixed over the viewport: gaussian splats for points (clicks, rested cursor, rage and
 * dead clicks), full-width bands for scroll depth and attention, coloured through one palette.
 */
import { pageOf } from './url.ts'

interface Cells {
  xCells: number
  yBandPx: number
  total: number
  cells: Array<[number, number, number]>
}

type State = 'loading' | 'drawn' | 'error' | 'closed'

declare global {
  interface Window {
    hmOverlay?: {
      show(type?: string): Promise<void>
      hide(): void
      readonly state: State
      readonly total: number
    }
  }
}

const KEY = 'hm_overlay'
const TYPES = ['click', 'move', 'rage', 'dead', 'attention', 'scroll']
const BANDS = new Set(['attention', 'scroll'])
const RADIUS = 24
const Z = '2147483646'

function viewportClass(width: number): string {
  return width < 768 ? 'mobile' : width < 1024 ? 'tablet' : 'desktop'
}

/** 256 colours from cold to hot, as RGBA bytes. */
function palette(): Uint8ClampedArray {
  const c = document.createElement('canvas')
  c.width = 256
  c.height = 1
  const g = c.getContext('2d')!
  const grad = g.createLinearGradient(0, 0, 256, 0)
  const stops: Array<[number, string]> = [
    [0, '#0000ff'],
    [0.4, '#0080ff'],
    [0.6, '#00ffa0'],
    [0.75, '#ffff00'],
    [1, '#ff0000'],
  ]
  for (const [at, colour] of stops) grad.addColorStop(at, colour)
  g.fillStyle = grad
  g.fillRect(0, 0, 256, 1)
  return g.getImageData(0, 0, 256, 1).data
}

/** A soft disc (a gaussian, near enough) drawn once and stamped for every cell. */
function stamp(): HTMLCanvasElement {
  const c = document.createElement('canvas')
  c.width = c.height = RADIUS * 2
  const g = c.getContext('2d')!
  const grad = g.createRadialGradient(RADIUS, RADIUS, 0, RADIUS, RADIUS, RADIUS)
  grad.addColorStop(0, 'rgba(0,0,0,1)')
  grad.addColorStop(0.5, 'rgba(0,0,0,0.45)')
  grad.addColorStop(1, 'rgba(0,0,0,0)')
  g.fillStyle = grad
  g.fillRect(0, 0, RADIUS * 2, RADIUS * 2)
  return c
}

function start(): void {
  if (window.hmOverlay) return
  let creds: string | null = null
  try {
    creds = sessionStorage.getItem(KEY)
  } catch {}
  const sep = creds?.indexOf(':') ?? -1
  if (!creds || sep < 1) return
  const siteId = creds.slice(0, sep)
  const apiKey = creds.slice(sep + 1)
  const script = document.currentScript as HTMLScriptElement | null
  const api = new URL(script?.src || location.href).origin

  const canvas = document.createElement('canvas')
  canvas.id = 'hm-overlay-canvas'
  canvas.style.cssText = `position:fixed;left:0;top:0;pointer-events:none;z-index:${Z}`
  const bar = document.createElement('div')
  bar.id = 'hm-overlay-bar'
  bar.style.cssText = `position:fixed;right:12px;top:12px;z-index:${Z};font:13px system-ui,sans-serif;background:#111c;color:#fff;padding:6px 10px;border-radius:6px;display:flex;gap:8px;align-items:center`
  const select = document.createElement('select')
  for (const t of TYPES) select.add(new Option(t, t))
  const label = document.createElement('span')
  const close = document.createElement('button')
  close.textContent = '×'
  close.title = 'Close the heatmap'
  bar.append('Heatmap', select, label, close)

  const colours = palette()
  const disc = stamp()
  const g = canvas.getContext('2d', { willReadFrequently: true })!
  let data: Cells | undefined
  let type = 'click'
  let state: State = 'loading'
  let page = ''
  let queued = false

  function draw(): void {
    queued = false
    const w = innerWidth
    const h = innerHeight
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w
      canvas.height = h
    }
    g.clearRect(0, 0, w, h)
    if (!data || data.cells.length === 0) return
    const docW = Math.max(document.documentElement.scrollWidth, document.body?.scrollWidth ?? 0)
    let max = 1
    for (const c of data.cells) max = Math.max(max, c[2])
    for (const [x, y, n] of data.cells) {
      const top = y * data.yBandPx - scrollY
      if (BANDS.has(type)) {
        if (top + data.yBandPx < 0 || top > h) continue
        g.globalAlpha = 0.85 * (n / max)
        g.fillRect(0, top, w, data.yBandPx)
        continue
      }
      const cx = ((x + 0.5) / data.xCells) * docW - scrollX
      const cy = top + data.yBandPx / 2
      if (cx < -RADIUS || cx > w + RADIUS || cy < -RADIUS || cy > h + RADIUS) continue
      g.globalAlpha = Math.max(0.1, n / max)
      g.drawImage(disc, cx - RADIUS, cy - RADIUS)
    }
    g.globalAlpha = 1
    // Colourise: the accumulated darkness of each pixel picks its colour; its opacity follows.
    const img = g.getImageData(0, 0, w, h)
    const px = img.data
    for (let i = 3; i < px.length; i += 4) {
      const a = px[i]!
      if (a === 0) continue
      px[i - 3] = colours[a * 4]!
      px[i - 2] = colours[a * 4 + 1]!
      px[i - 1] = colours[a * 4 + 2]!
      px[i] = Math.min(200, 40 + a)
    }
    g.putImageData(img, 0, 0)
  }

  const redraw = () => {
    if (!queued) {
      queued = true
      requestAnimationFrame(draw)
    }
  }

  async function show(t = type): Promise<void> {
    type = TYPES.includes(t) ? t : 'click'
    select.value = type
    page = pageOf(location.href)
    state = 'loading'
    label.textContent = '…'
    const q = new URLSearchParams({ page, type, viewport: viewportClass(innerWidth) })
    try {
      const res = await fetch(`${api}/v1/sites/${encodeURIComponent(siteId)}/heatmap?${q}`, {
        headers: { authorization: `Bearer ${apiKey}` },
        credentials: 'omit',
      })
      if (!res.ok) throw new Error(`the heatmap API answered ${res.status}`)
      data = (await res.json()) as Cells
      label.textContent = `${data.total.toLocaleString()} on ${page}`
      canvas.dataset.total = String(data.total)
      draw()
      state = 'drawn'
    } catch (e) {
      data = undefined
      draw()
      label.textContent = (e as Error).message
      state = 'error'
    }
  }

  function hide(): void {
    state = 'closed'
    try {
      sessionStorage.removeItem(KEY)
    } catch {}
    canvas.remove()
    bar.remove()
    removeEventListener('scroll', redraw)
    removeEventListener('resize', redraw)
    clearInterval(watch)
  }

  select.onchange = () => void show(select.value)
  close.onclick = hide
  addEventListener('scroll', redraw, { passive: true })
  addEventListener('resize', redraw)
  // An SPA route change is another page: its own heatmap.
  const watch = setInterval(() => {
    if (state !== 'loading' && pageOf(location.href) !== page) void show()
  }, 1000)
  document.body.append(canvas, bar)
  window.hmOverlay = {
    show,
    hide,
    get state() {
      return state
    },
    get total() {
      return data?.total ?? 0
    },
  }
  void show()
}

if (document.body) start()
else addEventListener('DOMContentLoaded', start)
