import { type ActorContext, type ActorKey, defineActor, packedMap } from '@hm/runtime'
import { depthBand, hourOf, type ViewportClass, viewportClass } from './grid.ts'
import { type Events, eventsOf, isEncodedMessage, readSessionMessage } from './message-codec.ts'
import type { PageEvent } from './page-actor.ts'
import {
  addPending,
  addToTimeline,
  emptyTimeline,
  type PendingEvents,
  pendingColumns,
  pendingEvents,
  reserveTimeline,
  type Timeline,
  timelineEntries,
} from './session-columns.ts'
import type { SessionEventRunRow, SessionRecord, SessionRow } from './session-records.ts'

/** An event as the session actor gets it: URL dropped, the normalised page kept. */
export type SessionEvent = PageEvent & { page: string }

export interface SessionMessage {
  visitorId: string
  device?: string
  browser?: string
  os?: string
  country?: string
  events: readonly SessionEvent[]
}

/**
 * Sent by the actor to itself (timer or reminder): `idle` checks whether the session has gone idle;
 * `summary` only brings the actor back to the next flush, whose drain writes the summary it held back.
 */
export interface SessionTick {
  tick: 'idle' | 'summary'
}

/**
 * A data-subject deletion of visitor `forget`: the session empties its state, discards what it has not
 * drained yet, cancels its timers and its end reminder and passivates, so it writes nothing more of the
 * visitor (no held-back summary, no final one at the end). It travels through the transport like the
 * session's batches, so it applies after every batch accepted before it. A session of another visitor
 * ignores it; a batch arriving later starts the session afresh, as new data.
 */
export interface SessionForget {
  forget: string
}

type Msg = SessionMessage | SessionTick | SessionForget | Uint8Array

export interface PageView {
  page: string
  /** Ordinal of the view in the session (views past `MAX_VIEWS` are forgotten, ordinals go on). */
  no: number
  start: number
  last: number
  /** Deepest viewport bottom reached, px, and the document height then. */
  depth: number
  height: number
  viewport: ViewportClass
  /** Whether a page view event opened it (otherwise a scroll of a page whose view was not seen). */
  seen: boolean
}

export interface SessionState {
  siteId: string
  sessionId: string
  visitorId: string
  device: string
  browser: string
  os: string
  country: string
  referrer: string
  viewport: string
  startedAt: number
  lastTs: number
  /** Runtime time of the last message: idleness is measured on the runtime's clock, not the browser's. */
  lastSeenAt: number
  entryPage: string
  views: PageView[]
  viewCount: number
  pageviews: number
  clicks: number
  rage: number
  rageClicks: number
  dead: number
  events: number
  /**
   * The newest interactions (ts, type, x, y, view ordinal), for a live look at the session: kept in memory
   * only (the stored timeline is the raw events). Snapshotting it would rewrite up to `MAX_TIMELINE`
   * entries per session at every flush; it starts empty after a restore.
   */
  timeline: Timeline
  /** Interactions ever added to the timeline (durable), so what is no longer in memory can be told. */
  timelineTotal: number
  ended: boolean
  summaryDirty: boolean
  summaryAt: number
  /** When the persisted end reminder is set for. */
  reminderAt: number
  /** Records not drained yet; not part of the snapshot (drain owns their durability). */
  outbox: SessionRecord[]
  /** Raw events not drained yet (drained as one `session_events_v6` row); like the outbox. */
  pending: PendingEvents | undefined
}

export const SESSION_ACTOR = 'session'
/** A session ends after this long without an event. */
export const SESSION_IDLE_MS = 30 * 60_000
/**
 * Live sessions write a provisional summary at most this often (the sessions list lags a live session by
 * up to this much; one row per live session per interval is what it costs); the final one at the end.
 */
export const SESSION_SUMMARY_EVERY_MS = 10_000
/** The persisted reminder (which survives passivation and restarts) trails the timer by this much. */
const REMINDER_SLACK_MS = 5 * 60_000
export const MAX_VIEWS = 200
export const MAX_TIMELINE = 2000
/** How far back an event of a page looks for its page view (tabs interleave). */
const VIEW_LOOKBACK = 8

export function sessionActorKey(siteId: string, sessionId: string): string {
  return `${siteId} ${sessionId}`
}

/** The live topic of a site's activity (`SiteActivity` per batch), published only while watched. */
export function siteTopic(siteId: string): string {
  return `hm.live.site.${siteId}`
}

/** What a session publishes on its site's topic for each batch, while someone watches the site. */
export interface SiteActivity {
  sessionId: string
  events: number
  /** Runtime time, ms. */
  at: number
}

function fresh(key: ActorKey): SessionState {
  const i = key.indexOf(' ')
  return {
    siteId: key.slice(0, i),
    sessionId: key.slice(i + 1),
    visitorId: '',
    device: '',
    browser: '',
    os: '',
    country: '',
    referrer: '',
    viewport: '',
    startedAt: 0,
    lastTs: 0,
    lastSeenAt: 0,
    entryPage: '',
    views: [],
    viewCount: 0,
    pageviews: 0,
    clicks: 0,
    rage: 0,
    rageClicks: 0,
    dead: 0,
    events: 0,
    timeline: emptyTimeline(),
    timelineTotal: 0,
    ended: false,
    summaryDirty: false,
    summaryAt: 0,
    reminderAt: 0,
    outbox: [],
    pending: undefined,
  }
}

function scrollRow(s: SessionState, v: PageView, band: number, starts: number, ends: number, fold = 0): void {
  const views = fold > 0 ? 1 : 0
  s.outbox.push([
    'sd',
    [s.siteId, v.page, v.viewport, s.device, s.country, hourOf(v.start), band, starts, ends, views, fold],
  ])
}

function openView(s: SessionState, e: SessionEvent, seen: boolean, depth: number): PageView {
  const v: PageView = {
    page: e.page,
    no: s.viewCount++,
    start: e.ts,
    last: e.ts,
    depth: Math.min(depth, e.dh),
    height: e.dh,
    viewport: viewportClass(e.vw),
    seen,
  }
  if (s.entryPage === '') s.entryPage = e.page
  s.views.push(v)
  if (s.views.length > MAX_VIEWS) s.views.shift()
  // The first segment of the chain, [0, band of the first depth], and the view itself with its fold.
  const b = depthBand(v.depth, v.height)
  if (b === 0) scrollRow(s, v, 0, 1, 1, Math.max(1, e.vh))
  else {
    scrollRow(s, v, 0, 1, 0, Math.max(1, e.vh))
    scrollRow(s, v, b, 0, 1)
  }
  return v
}

function viewOf(s: SessionState, page: string): PageView | undefined {
  for (let i = s.views.length - 1; i >= 0 && i >= s.views.length - VIEW_LOOKBACK; i--) {
    if (s.views[i]!.page === page) return s.views[i]
  }
  return undefined
}

function deepen(s: SessionState, v: PageView, depth: number, height: number): void {
  const before = depthBand(v.depth, v.height)
  v.height = Math.max(v.height, height)
  v.depth = Math.max(v.depth, Math.min(depth, height))
  const after = depthBand(v.depth, v.height)
  if (after <= before) return
  if (after === before + 1) scrollRow(s, v, after, 1, 1)
  else {
    scrollRow(s, v, before + 1, 1, 0)
    scrollRow(s, v, after, 0, 1)
  }
}

/** Adds the event to the raw events the next drain writes. */
function keep(s: SessionState, e: SessionEvent): void {
  let x = 0
  let y = 0
  let selector = ''
  let value = 0
  let referrer = ''
  switch (e.type) {
    case 'click':
    case 'dead':
      x = e.x
      y = e.y
      selector = e.selector ?? ''
      break
    case 'rage':
      x = e.x
      y = e.y
      selector = e.selector ?? ''
      value = e.count
      break
    case 'move':
      x = e.x
      y = e.y
      value = e.rest
      break
    case 'scroll':
      y = e.depth
      value = e.depth
      break
    case 'attention':
      y = e.band0 * 16
      for (const ms of e.ms) value += ms
      break
    case 'pageview':
      referrer = e.referrer ?? ''
      break
  }
  s.pending ??= pendingEvents(1)
  addPending(s.pending, e.ts, e.type, e.page, x, y, e.vw, e.vh, e.dw, e.dh, selector, value, referrer)
}

/** The raw events kept since the last drain, as the session's `session_events_v6` row. */
function eventsRow(s: SessionState, pending: PendingEvents): SessionEventRunRow {
  const p = pendingColumns(pending)
  return [
    s.siteId,
    s.sessionId,
    s.visitorId,
    s.device,
    s.country,
    p.ts0,
    p.pages,
    p.dt,
    p.type,
    p.pageNo,
    p.x,
    p.y,
    p.vw,
    p.vh,
    p.dw,
    p.dh,
    p.selector,
    p.value,
    p.referrer,
  ]
}

function applyEvent(s: SessionState, e: SessionEvent): void {
  if (s.events === 0 || e.ts < s.startedAt) s.startedAt = e.ts
  if (e.ts > s.lastTs) s.lastTs = e.ts
  if (s.viewport === '') s.viewport = viewportClass(e.vw)
  s.events++
  let v: PageView
  if (e.type === 'pageview') {
    s.pageviews++
    if (s.pageviews === 1 && s.referrer === '' && e.referrer) s.referrer = e.referrer
    // What a view shows before any scroll: the first viewport.
    v = openView(s, e, true, e.vh)
  } else {
    v = viewOf(s, e.page) ?? openView(s, e, false, e.type === 'scroll' ? e.depth : e.vh)
    if (e.ts > v.last) v.last = e.ts
  }
  switch (e.type) {
    case 'click':
      s.clicks++
      break
    case 'rage':
      s.rage++
      s.rageClicks += e.count
      break
    case 'dead':
      s.dead++
      break
    case 'scroll':
      deepen(s, v, e.depth, e.dh)
      break
  }
  if (e.type !== 'attention') {
    const x = 'x' in e ? e.x : 0
    const y = 'y' in e ? e.y : e.type === 'scroll' ? e.depth : 0
    addToTimeline(s.timeline, MAX_TIMELINE, e.ts, e.type, x, y, v.no)
    s.timelineTotal++
  }
  keep(s, e)
}

function armIdle(s: SessionState, ctx: ActorContext<Msg>): void {
  ctx.setTimer('idle', SESSION_IDLE_MS, { tick: 'idle' })
  // Timers die with the activation; the reminder is the persisted backstop. Moving it costs a write, so
  // it is moved only when it would fire too early, at most once per REMINDER_SLACK_MS of activity.
  if (s.reminderAt < s.lastSeenAt + SESSION_IDLE_MS) {
    s.reminderAt = s.lastSeenAt + SESSION_IDLE_MS + REMINDER_SLACK_MS
    ctx.setReminder('end', s.reminderAt, { tick: 'idle' })
  }
}

/** The summary row of the session as it stands. */
export function summaryRow(s: SessionState): SessionRow {
  const views = s.views
  const dwell = packedMap(views, (v, i) =>
    Math.max(0, (i + 1 < views.length ? views[i + 1]!.start : v.last) - v.start),
  )
  return [
    s.siteId,
    s.sessionId,
    s.visitorId,
    s.startedAt,
    s.lastTs,
    Math.max(0, s.lastTs - s.startedAt),
    s.pageviews,
    s.clicks,
    s.rage,
    s.rageClicks,
    s.dead,
    s.events,
    s.entryPage,
    views.at(-1)?.page ?? '',
    s.referrer,
    s.device,
    s.browser,
    s.os,
    s.country,
    s.viewport,
    packedMap(views, (v) => v.page),
    packedMap(views, (v) => v.start),
    dwell,
    packedMap(views, (v) => v.depth),
    packedMap(views, (v) => v.height),
    s.ended ? 1 : 0,
    // Grows with every event and once more at the end: the latest summary wins in ClickHouse.
    s.events * 2 + (s.ended ? 1 : 0),
  ]
}

const NO_EVENTS: Events<SessionEvent> = eventsOf([])

/**
 * A message as its header (or tick, or forget) and its events: read from the routed layout
 * (`encodeSessionMessage`) one event at a time, or taken from an object (a message stored before that
 * layout, a tick, a forget).
 */
function opened(message: Msg): {
  message: Omit<SessionMessage, 'events'> | SessionTick | SessionForget
  events: Events<SessionEvent>
} {
  if (isEncodedMessage(message)) return readSessionMessage(message)
  return { message, events: 'events' in message ? eventsOf(message.events) : NO_EVENTS }
}

export interface SessionAskTimeline {
  kind: 'timeline'
}

/**
 * One visitor session (key: site and session id). Keeps the pages visited with dwell time and deepest
 * scroll, clicks, rage and dead clicks, device, browser, OS, country, referrer, entry and exit page, and a
 * bounded in-memory timeline of its latest interactions (cursor replay reads the stored events). Writes
 * its events raw (one `session_events_v6` row per flush), the
 * scroll-depth increments of its page views, and its summary: provisionally at most every 10 seconds while
 * live, finally when 30 minutes pass without an event (a timer, backed by a persisted reminder), after
 * which it passivates (the runtime drains it first). Events arriving after the end reopen it. A
 * `SessionForget` (data-subject deletion) empties it and leaves nothing to write.
 */
export const sessionActor = defineActor<SessionState, Msg, SessionRecord>({
  type: SESSION_ACTOR,
  initial: (key) => fresh(key),
  receive: (s, message, ctx) => {
    const { message: m, events } = opened(message)
    if ('forget' in m) {
      if (s.visitorId !== '' && s.visitorId !== m.forget) return s
      ctx.cancelTimer('idle')
      ctx.cancelTimer('summary')
      if (s.reminderAt !== 0) ctx.cancelReminder('end')
      ctx.passivate()
      return fresh(ctx.key)
    }
    if ('tick' in m) {
      if (m.tick === 'summary') return s
      if (s.ended) {
        ctx.passivate()
        return s
      }
      const idle = ctx.now() - s.lastSeenAt
      if (idle < SESSION_IDLE_MS) {
        ctx.setTimer('idle', SESSION_IDLE_MS - idle, { tick: 'idle' })
        return s
      }
      s.ended = true
      s.summaryDirty = true
      ctx.cancelTimer('idle')
      ctx.cancelReminder('end')
      s.reminderAt = 0
      ctx.passivate()
      return s
    }
    s.ended = false
    s.lastSeenAt = ctx.now()
    if (s.visitorId === '') s.visitorId = m.visitorId
    if (s.device === '' && m.device) s.device = m.device
    if (s.browser === '' && m.browser) s.browser = m.browser
    if (s.os === '' && m.os) s.os = m.os
    if (s.country === '' && m.country) s.country = m.country
    // Room for this message's events at once (keep() makes room for one when it finds none).
    const count = events.left
    if (count > 0) {
      s.pending ??= pendingEvents(count)
      reserveTimeline(s.timeline, MAX_TIMELINE, count)
    }
    while (events.left > 0) applyEvent(s, events.next())
    s.summaryDirty = true
    const topic = siteTopic(s.siteId)
    if (ctx.watched(topic)) {
      const activity: SiteActivity = { sessionId: s.sessionId, events: count, at: s.lastSeenAt }
      ctx.publish(topic, activity)
    }
    armIdle(s, ctx)
    return s
  },
  drain: (s, ctx) => {
    const now = ctx.now()
    if (s.summaryDirty && s.events > 0) {
      const wait = s.ended || s.summaryAt === 0 ? 0 : s.summaryAt + SESSION_SUMMARY_EVERY_MS - now
      if (wait <= 0) {
        s.outbox.push(['s', summaryRow(s)])
        s.summaryDirty = false
        s.summaryAt = now
      } else {
        // Held back: the runtime drains only actors that had a turn, so come back when it is due.
        ctx.setTimer('summary', wait, { tick: 'summary' })
      }
    }
    if (s.pending !== undefined && s.pending.length > 0) {
      s.outbox.push(['sc', eventsRow(s, s.pending)])
      s.pending = undefined
    }
    if (s.outbox.length === 0) return []
    const out = s.outbox
    s.outbox = []
    return out
  },
  ask: (s, request) => {
    if ((request as SessionAskTimeline).kind !== 'timeline') return undefined
    const pageOf = new Map(s.views.map((v) => [v.no, v.page]))
    return {
      summary: summaryRow(s),
      timeline: timelineEntries(s.timeline).map(([ts, type, x, y, no]) => [
        ts,
        type,
        x,
        y,
        pageOf.get(no) ?? '',
      ]),
      timelineDropped: s.timelineTotal - s.timeline.length,
    }
  },
  snapshot: ({ outbox: _outbox, pending: _pending, timeline: _timeline, ...durable }) => durable,
  restore: (snap) => ({
    ...(snap as Omit<SessionState, 'outbox' | 'pending' | 'timeline'>),
    outbox: [],
    pending: undefined,
    timeline: emptyTimeline(),
  }),
})
