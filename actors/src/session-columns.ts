import { type HeatmapType, heatmapTypes } from './grid.ts'

/**
 * What a session actor holds per event, kept in columns rather than an array or object per event: an
 * active session keeps its timeline for as long as it lives, and its raw events until the next flush, so
 * everything stored per event outlives the young generation. Arrays per event were most of what the
 * workers' garbage collector copied and marked under ingest load; here a session holds a few objects
 * however many events it has. Event types are stored as their index in `heatmapTypes`.
 */
const typeCode = new Map<string, number>(heatmapTypes.map((t, i) => [t, i]))

function codeOf(type: HeatmapType): number {
  return typeCode.get(type)!
}

/** Room for `need` rows of `width` numbers: `data` itself, or a copy twice as large. */
function roomFor(data: Float64Array, rows: number, need: number, width: number): Float64Array {
  if (need * width <= data.length) return data
  const next = new Float64Array(Math.max(need, rows * 2) * width)
  next.set(data.subarray(0, rows * width))
  return next
}

/** Numbers per timeline entry: ts, type, x, y, view ordinal. */
const TIMELINE_WIDTH = 5

/** The newest interactions of a session, oldest first, at most `max` (the oldest half goes when full). */
export interface Timeline {
  data: Float64Array
  length: number
}

/** Shared by every empty timeline: a session gets room of its own when its first message comes. */
const NO_ROOM = new Float64Array(0)

export function emptyTimeline(): Timeline {
  return { data: NO_ROOM, length: 0 }
}

/**
 * Room for `n` more entries at once (a message's events): one buffer of the size needed, where growing
 * entry by entry would allocate and copy one buffer per doubling. Never past `max`.
 */
export function reserveTimeline(t: Timeline, max: number, n: number): void {
  t.data = roomFor(t.data, t.length, Math.min(max, t.length + n), TIMELINE_WIDTH)
}

export function addToTimeline(
  t: Timeline,
  max: number,
  ts: number,
  type: HeatmapType,
  x: number,
  y: number,
  view: number,
): void {
  if (t.length >= max) {
    // Drop the oldest half at once: amortised O(1), and the newest interactions are what live replay needs.
    const keep = max / 2
    t.data.copyWithin(0, (t.length - keep) * TIMELINE_WIDTH, t.length * TIMELINE_WIDTH)
    t.length = keep
  }
  t.data = roomFor(t.data, t.length, t.length + 1, TIMELINE_WIDTH)
  const at = t.length * TIMELINE_WIDTH
  t.data[at] = ts
  t.data[at + 1] = codeOf(type)
  t.data[at + 2] = x
  t.data[at + 3] = y
  t.data[at + 4] = view
  t.length++
}

/** The entries as `[ts, type, x, y, view ordinal]`, oldest first. */
export function timelineEntries(t: Timeline): Array<[number, HeatmapType, number, number, number]> {
  const out: Array<[number, HeatmapType, number, number, number]> = []
  for (let i = 0; i < t.length; i++) {
    const at = i * TIMELINE_WIDTH
    const d = t.data
    out.push([d[at]!, heatmapTypes[d[at + 1]!]!, d[at + 2]!, d[at + 3]!, d[at + 4]!])
  }
  return out
}

/** Numbers per raw event: ts, type, x, y, vw, vh, dw, dh, value. */
const EVENT_WIDTH = 9

/** Raw events not yet drained: numbers in one array, pages by reference, the rare texts apart. */
export interface PendingEvents {
  nums: Float64Array
  length: number
  page: string[]
  /** `[event index, selector, referrer]` of the events that have either. */
  texts: Array<[number, string, string]>
}

export function pendingEvents(room: number): PendingEvents {
  return { nums: new Float64Array(Math.max(1, room) * EVENT_WIDTH), length: 0, page: [], texts: [] }
}

/**
 * Adds one raw event: the fields of a `session_events_v6` event (the viewport class follows from vw), as
 * arguments rather than an object, which would be one more allocation per event on the workers' hot path.
 */
export function addPending(
  p: PendingEvents,
  ts: number,
  type: HeatmapType,
  page: string,
  x: number,
  y: number,
  vw: number,
  vh: number,
  dw: number,
  dh: number,
  selector: string,
  value: number,
  referrer: string,
): void {
  p.nums = roomFor(p.nums, p.length, p.length + 1, EVENT_WIDTH)
  const at = p.length * EVENT_WIDTH
  const n = p.nums
  n[at] = ts
  n[at + 1] = codeOf(type)
  n[at + 2] = x
  n[at + 3] = y
  n[at + 4] = vw
  n[at + 5] = vh
  n[at + 6] = dw
  n[at + 7] = dh
  n[at + 8] = value
  p.page.push(page)
  if (selector !== '' || referrer !== '') p.texts.push([p.length, selector, referrer])
  p.length++
}

/**
 * The pending events as one array per field, in the events' order: the columns of a `session_events_v6`
 * row (`SessionEventRunRow`). Times are ms after the earliest, types their index in `heatmapTypes`, pages
 * an index into the distinct pages. Every field but dt whose value is the same for all the events is one
 * value (an array of length 1), which the `events` view reads as that value for each event (migration 7):
 * within a session's flush the viewport, document size, page and often type do not change, and most
 * events have no selector, value or referrer. Under the ingest bench's load (clicks) a row's JSON went
 * from 54 to 15 bytes per event.
 */
export interface PendingColumns {
  ts0: number
  pages: string[]
  dt: number[]
  type: number[]
  pageNo: number[]
  x: number[]
  y: number[]
  vw: number[]
  vh: number[]
  dw: number[]
  dh: number[]
  selector: string[]
  value: number[]
  referrer: string[]
}

export function pendingColumns(p: PendingEvents): PendingColumns {
  const len = p.length
  const dt = fullColumn(p, 0)
  let ts0 = dt[0]!
  for (const t of dt) if (t < ts0) ts0 = t
  for (let i = 0; i < len; i++) dt[i] = dt[i]! - ts0
  // A session's events of one flush are mostly on one page or a few: each URL is written once.
  const pages: string[] = []
  const pageNo: number[] = []
  let last = -1
  for (let i = 0; i < len; i++) {
    const page = p.page[i]!
    if (last < 0 || pages[last] !== page) {
      last = pages.indexOf(page)
      if (last < 0) last = pages.push(page) - 1
    }
    pageNo.push(last)
  }
  let selector = ['']
  let referrer = ['']
  if (p.texts.length > 0) {
    selector = []
    referrer = []
    for (let i = 0; i < len; i++) {
      selector.push('')
      referrer.push('')
    }
    for (const [i, s, r] of p.texts) {
      selector[i] = s
      referrer[i] = r
    }
  }
  return {
    ts0,
    pages,
    dt,
    type: column(p, 1),
    pageNo: onceIfSame(pageNo),
    x: column(p, 2),
    y: column(p, 3),
    vw: column(p, 4),
    vh: column(p, 5),
    dw: column(p, 6),
    dh: column(p, 7),
    selector: onceIfSame(selector),
    value: column(p, 8),
    referrer: onceIfSame(referrer),
  }
}

/**
 * Field `field` of every pending event. Built by pushing, never as `new Array(len)`: JSON.stringify (the
 * workers' row encoding) takes a generic path, element by element, through an array created with holes,
 * at more than twice the cost of a packed one.
 */
function fullColumn(p: PendingEvents, field: number): number[] {
  const out: number[] = []
  for (let i = 0; i < p.length; i++) out.push(p.nums[i * EVENT_WIDTH + field]!)
  return out
}

/** Field `field` of every pending event, or its one value when it is the same for all. */
function column(p: PendingEvents, field: number): number[] {
  const first = p.nums[field]!
  for (let i = 1; i < p.length; i++)
    if (p.nums[i * EVENT_WIDTH + field] !== first) return fullColumn(p, field)
  return [first]
}

/** `values` if they differ, else their one value (an array of length 1). */
function onceIfSame<T>(values: T[]): T[] {
  for (let i = 1; i < values.length; i++) if (values[i] !== values[0]) return values
  return values.length > 1 ? [values[0]!] : values
}
