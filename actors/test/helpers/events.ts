import type {
  AttentionEvent,
  ClickEvent,
  DeadEvent,
  MoveEvent,
  PageviewEvent,
  RageEvent,
  ScrollEvent,
} from '../../src/index.ts'

/** A desktop document 1280 px wide and 3000 px high, seen in a 1280 × 800 viewport. */
export const desktop = { vw: 1280, vh: 800, dw: 1280, dh: 3000 } as const
export const mobile = { vw: 390, vh: 844, dw: 390, dh: 6000 } as const
export const T0 = Date.UTC(2026, 10, 20, 10)
const URL_BASE = 'https://shop.example'

type Screen = { vw: number; vh: number; dw: number; dh: number }

export const pageview = (path: string, ts = T0, s: Screen = desktop, referrer?: string): PageviewEvent => ({
  type: 'pageview',
  ts,
  url: URL_BASE + path,
  ...s,
  ...(referrer !== undefined ? { referrer } : {}),
})

export const click = (
  path: string,
  x: number,
  y: number,
  ts = T0,
  s: Screen = desktop,
  el?: { selector: string; ox: number; oy: number },
): ClickEvent => ({ type: 'click', ts, url: URL_BASE + path, ...s, x, y, ...(el ?? {}) })

export const move = (path: string, x: number, y: number, ts = T0, s: Screen = desktop): MoveEvent => ({
  type: 'move',
  ts,
  url: URL_BASE + path,
  ...s,
  x,
  y,
  rest: 500,
})

export const rage = (
  path: string,
  x: number,
  y: number,
  count: number,
  selector?: string,
  ts = T0,
): RageEvent => ({
  type: 'rage',
  ts,
  url: URL_BASE + path,
  ...desktop,
  x,
  y,
  count,
  ...(selector !== undefined ? { selector } : {}),
})

export const dead = (path: string, x: number, y: number, selector?: string, ts = T0): DeadEvent => ({
  type: 'dead',
  ts,
  url: URL_BASE + path,
  ...desktop,
  x,
  y,
  ...(selector !== undefined ? { selector } : {}),
})

export const scroll = (path: string, depth: number, ts = T0, s: Screen = desktop): ScrollEvent => ({
  type: 'scroll',
  ts,
  url: URL_BASE + path,
  ...s,
  depth,
})

export const attention = (path: string, band0: number, ms: number[], ts = T0): AttentionEvent => ({
  type: 'attention',
  ts,
  url: URL_BASE + path,
  ...desktop,
  band0,
  ms,
})
