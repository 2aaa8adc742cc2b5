import { type DrainEncoder, decodeDrained } from '@hm/runtime'
import { PAGE_ACTOR, type PageRecord } from '../page-actor.ts'
import { SESSION_ACTOR } from '../session-actor.ts'
import type { SessionRecord } from '../session-records.ts'
import { DEFAULT_RETENTION_DAYS } from './retention.ts'

/**
 * The columns of a raw event, as `events` (a view of both tables below) shows them and as the table of
 * earlier versions (`events_v4`) stores them, in the order of its rows.
 */
export const EVENT_COLUMNS: readonly string[] = [
  'site_id',
  'ts',
  'session_id',
  'visitor_id',
  'type',
  'page',
  'viewport',
  'device',
  'country',
  'x',
  'y',
  'vw',
  'vh',
  'dw',
  'dh',
  'selector',
  'value',
  'referrer',
]

/** The columns of `session_events` that hold one value per row: the session's. */
const PER_SESSION: readonly string[] = ['site_id', 'session_id', 'visitor_id', 'device', 'country']

/**
 * The columns of `session_events` (migration 5) holding an array, one value per event: the rest of
 * `EVENT_COLUMNS`, in order.
 */
export const SESSION_EVENT_FIELDS: readonly string[] = EVENT_COLUMNS.filter((c) => !PER_SESSION.includes(c))

/**
 * The columns of `session_events_v6` holding an array, one value per event (`SessionEventRunRow`), after
 * ts0 and `pages` (which `page_no` indexes). The `events` view derives ts, page and viewport from them.
 */
export const SESSION_EVENT_RUN_FIELDS: readonly string[] = [
  'dt',
  'type',
  'page_no',
  'x',
  'y',
  'vw',
  'vh',
  'dw',
  'dh',
  'selector',
  'value',
  'referrer',
]

interface Table {
  name: string
  /** The columns an actor's row carries, in its order; every row is followed by `retention_days`. */
  columns: readonly string[]
}

/** The tables the actors' drained records go to, by the tag of the record (`['c', row]` → cells). */
export const TABLES = {
  c: {
    name: 'heatmap_cells',
    columns: [
      'site_id',
      'page',
      'type',
      'viewport',
      'device',
      'country',
      'hour',
      'cell_x',
      'cell_y',
      'count',
    ],
  },
  e: {
    name: 'element_clicks',
    columns: [
      'site_id',
      'page',
      'selector',
      'viewport',
      'device',
      'country',
      'hour',
      'off_x',
      'off_y',
      'clicks',
      'rage',
      'rage_clicks',
      'dead',
    ],
  },
  // Rows of journal records committed before the upgrade that moved raw events to `session_events`.
  ev: { name: 'events_v4', columns: EVENT_COLUMNS },
  sd: {
    name: 'scroll_depth',
    columns: [
      'site_id',
      'page',
      'viewport',
      'device',
      'country',
      'hour',
      'band',
      'starts',
      'ends',
      'views',
      'fold_sum',
    ],
  },
  s: {
    name: 'sessions',
    columns: [
      'site_id',
      'session_id',
      'visitor_id',
      'started_at',
      'last_event_at',
      'duration_ms',
      'pageviews',
      'clicks',
      'rage',
      'rage_clicks',
      'dead',
      'events',
      'entry_page',
      'exit_page',
      'referrer',
      'device',
      'browser',
      'os',
      'country',
      'viewport',
      'pages',
      'page_entered_at',
      'page_dwell_ms',
      'page_max_scroll',
      'page_height',
      'ended',
      'version',
    ],
  },
  // Rows of journal records committed before migration 6 changed the layout of raw events.
  se: {
    name: 'session_events',
    columns: [...PER_SESSION, 'ts0', ...SESSION_EVENT_FIELDS],
  },
  // Last: a batch names its tables by their index here, and journal records outlive upgrades.
  sc: {
    name: 'session_events_v6',
    columns: [...PER_SESSION, 'ts0', 'pages', ...SESSION_EVENT_RUN_FIELDS],
  },
} as const satisfies Record<string, Table>

export type TableTag = keyof typeof TABLES
const TAGS = Object.keys(TABLES) as TableTag[]

/**
 * What the host shares with the workers under this name: `Record<siteId, days>`, each website's retention
 * (a site not in it has `DEFAULT_RETENTION_DAYS`). Rows are stamped with their site's retention when encoded.
 */
export const SITE_RETENTION = 'hm.site-retention'

const retentionMaps = new WeakMap<object, ReadonlyMap<string, number>>()

/**
 * The shared retention days (an object by site id) as a Map, made once per version shared: looking a site
 * up in the object walks its prototype chain for every row of a site without a setting of its own.
 */
function retentionBySite(shared: unknown): ReadonlyMap<string, number> {
  if (typeof shared !== 'object' || shared === null) return new Map()
  let map = retentionMaps.get(shared)
  if (map === undefined) {
    map = new Map(Object.entries(shared as Record<string, number>))
    retentionMaps.set(shared, map)
  }
  return map
}

/**
 * The drain encoder of the domain's workers: each table's rows as the JSONCompactEachRow body of its
 * insert, so the main thread only concatenates bytes (`readTableRows`) and never holds a row as objects.
 * A body is one `JSON.stringify` of the table's rows, each with its retention as one more column, its
 * outer brackets made a space and a newline: ClickHouse reads rows separated by commas (one call per
 * table, not one per row and a string concatenated from them, which was a fifth of a worker's time).
 * Layout, per table with rows: u8 index of its tag in `TABLES` | u32 LE length | the body (UTF-8).
 */
export const encodeTableRows: DrainEncoder = (drained, shared) => {
  const retention = retentionBySite(shared.get(SITE_RETENTION))
  const rows = new Map<TableTag, unknown[][]>()
  const add = (records: ReadonlyArray<PageRecord | SessionRecord> | undefined): void => {
    for (const [tag, row] of records ?? []) {
      // A copy made by slice and push, not a spread (this runs a few times per flush, mostly before it is
      // optimised, where a spread copies element by element) nor concat (whose array has holes, which
      // JSON.stringify walks element by element through V8's generic lookup).
      const withDays: unknown[] = row.slice()
      withDays.push(retention.get(row[0]) ?? DEFAULT_RETENTION_DAYS)
      const list = rows.get(tag)
      if (list === undefined) rows.set(tag, [withDays])
      else list.push(withDays)
    }
  }
  add(drained[PAGE_ACTOR] as PageRecord[] | undefined)
  add(drained[SESSION_ACTOR] as SessionRecord[] | undefined)
  const parts: Buffer[] = []
  for (const [tag, list] of rows) {
    const bytes = Buffer.from(JSON.stringify(list), 'utf8')
    bytes[0] = 0x20
    bytes[bytes.length - 1] = 0x0a
    const head = Buffer.allocUnsafe(5)
    head.writeUInt8(TAGS.indexOf(tag), 0)
    head.writeUInt32LE(bytes.byteLength, 1)
    parts.push(head, bytes)
  }
  return Buffer.concat(parts)
}

/**
 * Whether a batch has the layout of journal records committed before the workers encoded rows: msgpack
 * of `{ [actorType]: records }`, whose first byte is a map's (`encodeTableRows` starts with a tag index).
 */
function isRecords(bytes: Uint8Array): boolean {
  const first = bytes[0]
  return first !== undefined && ((first & 0xf0) === 0x80 || first === 0xde || first === 0xdf)
}

/**
 * The insert bodies of one batch's bytes (as `encodeTableRows` wrote them), by table tag. A batch of the
 * earlier layout (a journal record committed and not applied before an upgrade) is encoded here, its
 * rows stamped with `retention` (site → days).
 */
export function readTableRows(
  batch: Uint8Array,
  retention: Readonly<Record<string, number>> = {},
): Map<TableTag, Uint8Array> {
  const bytes = isRecords(batch)
    ? encodeTableRows(decodeDrained(batch), new Map([[SITE_RETENTION, retention]]))
    : batch
  const out = new Map<TableTag, Uint8Array>()
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let at = 0
  while (at < bytes.byteLength) {
    const tag = TAGS[view.getUint8(at)]
    const length = view.getUint32(at + 1, true)
    if (tag === undefined || at + 5 + length > bytes.byteLength) {
      throw new Error(`drained rows: malformed batch at byte ${at} of ${bytes.byteLength}`)
    }
    out.set(tag, bytes.subarray(at + 5, at + 5 + length))
    at += 5 + length
  }
  return out
}
