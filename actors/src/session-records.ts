/**
 * The rows a session actor drains, one tuple per row in the column order of its table (the sink inserts
 * them with the column list, JSONCompactEachRow).
 */

/**
 * A raw event as the `events` table of earlier versions stored it (now `events_v4`): site, ts (ms),
 * session, visitor, type, page, viewport, device, country, x, y, vw, vh, dw, dh, selector, value,
 * referrer. Journal records committed before the upgrade still carry such rows.
 */
export type EventRow = [
  string,
  number,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  number,
  number,
  number,
  number,
  number,
  number,
  string,
  number,
  string,
]

/**
 * The raw events one session drained in one flush, as one row of `session_events` (the layout of
 * migration 5, `SessionRecord` tag `se`): site, session, visitor, device, country, ts0 (the earliest ts,
 * ms), then one array per event field: ts (ms), type, page, viewport, x, y, vw, vh, dw, dh, selector,
 * value, referrer. Journal records committed before migration 6 still carry such rows.
 */
export type SessionEventsRow = [
  string,
  string,
  string,
  string,
  string,
  number,
  number[],
  string[],
  string[],
  string[],
  number[],
  number[],
  number[],
  number[],
  number[],
  number[],
  string[],
  number[],
  string[],
]

/**
 * The raw events one session drained in one flush, as one row of `session_events_v6` (tag `sc`): site,
 * session, visitor, device, country, ts0 (the earliest ts, ms), pages (each page once, in order of first
 * use), then one array per event field, in the events' order: dt (ms after ts0), type (its index in
 * `heatmapTypes`), page_no (the event's index in pages), x, y, vw, vh, dw, dh, selector, value, referrer.
 * Every array but dt may instead hold one value, that of every event of the row (since migration 7).
 * `value` is the rest (move), the depth (scroll, also in y), the clicks of the burst (rage) or the visible
 * ms summed over the bands (attention, whose first band's y is in y). The viewport class is not stored:
 * it follows from vw. A row per session and flush, not per event: the session's ids are stored once, and
 * ClickHouse parses, sorts and merges fifty times fewer rows; small numbers instead of repeated timestamps,
 * type names and URLs make the row about 40% shorter to write and to parse than the layout before.
 */
export type SessionEventRunRow = [
  string,
  string,
  string,
  string,
  string,
  number,
  string[],
  number[],
  number[],
  number[],
  number[],
  number[],
  number[],
  number[],
  number[],
  number[],
  string[],
  number[],
  string[],
]

/**
 * Scroll-depth increments of `scroll_depth`: site, page, viewport, device, country, hour (s) of the page
 * view's start, band, starts, ends, views, fold_sum (px). Each page view is a chain of segments
 * `[0, b0], [b0 + 1, b1], …` over the bands it reached: a segment adds a start at its first band and an
 * end at its last, so the page views reaching band y are `Σ starts(≤ y) − Σ ends(< y)` — sums only, never
 * a subtraction in storage, and a view counts once however many scroll events it sent.
 */
export type ScrollRow = [
  string,
  string,
  string,
  string,
  string,
  number,
  number,
  number,
  number,
  number,
  number,
]

/**
 * A session summary of `sessions` (ReplacingMergeTree by `version`): site, session, visitor, started_at,
 * last_event_at, duration_ms, pageviews, clicks, rage, rage_clicks, dead, events, entry_page, exit_page,
 * referrer, device, browser, os, country, viewport, pages, page_entered_at, page_dwell_ms,
 * page_max_scroll, page_height, ended, version.
 */
export type SessionRow = [
  string,
  string,
  string,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string[],
  number[],
  number[],
  number[],
  number[],
  number,
  number,
]

export type SessionRecord =
  | ['sc', SessionEventRunRow]
  | ['sd', ScrollRow]
  | ['s', SessionRow]
  // Only in journal records committed before migration 6.
  | ['se', SessionEventsRow]
