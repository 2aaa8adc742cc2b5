import type { PageEvent, PageMessage } from './page-actor.ts'
import type { SessionEvent, SessionMessage } from './session-actor.ts'

/**
 * The binary layout of the page and session messages the gateway routes (`routeBatch`): the bulk of every
 * stream message. msgpack with records cost the gateway's main thread about 1 µs per event to encode
 * (after copying each event twice to drop its URL and page) and the workers more to decode, compiling a
 * reader per message. This layout is read field by field, with no copies on either side.
 *
 * Layout: u8 kind (`PAGE` | `SESSION`), the header strings (page: device, country; session: visitor,
 * device, browser, os, country; each a varint length, UTF-8, with length 0 meaning absent), a varint
 * count, then per event: u8 type, u8 flags, ts as f64, vw, vh, dw, dh as varints, the type's fields, and
 * for a session the page (omitted when the same as the event before: flag `SAME_PAGE`). Numbers other than
 * ts are integers in 0..2^31 (the wire schema's bounds); ox and oy are f64.
 */
const PAGE = 1
const SESSION = 2

const TYPES = ['pageview', 'click', 'move', 'scroll', 'rage', 'dead', 'attention'] as const
type EventType = (typeof TYPES)[number]
const CODE: Record<EventType, number> = {
  pageview: 0,
  click: 1,
  move: 2,
  scroll: 3,
  rage: 4,
  dead: 5,
  attention: 6,
}

const HAS_SELECTOR = 1
const HAS_OX = 2
const HAS_OY = 4
const HAS_REFERRER = 8
const SAME_PAGE = 16

/** Whether `bytes` is a message in this layout (messages already in a log may be msgpack objects). */
export function isEncodedMessage(m: unknown): m is Uint8Array {
  return m instanceof Uint8Array
}

class Writer {
  buf: Buffer
  at = 0

  /** `events`: how many the message holds, to size the buffer (about 20 bytes each, unless selectors). */
  constructor(events: number) {
    this.buf = Buffer.allocUnsafe(64 + events * 24)
  }

  room(n: number): void {
    if (this.at + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n))
    this.buf.copy(next, 0, 0, this.at)
    this.buf = next
  }

  u8(v: number): void {
    this.room(1)
    this.buf[this.at++] = v
  }

  uint(v: number): void {
    this.room(5)
    while (v >= 0x80) {
      this.buf[this.at++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.buf[this.at++] = v
  }

  f64(v: number): void {
    this.room(8)
    this.buf.writeDoubleLE(v, this.at)
    this.at += 8
  }

  str(s: string | undefined): void {
    if (s === undefined || s === '') {
      this.u8(0)
      return
    }
    // At most 3 UTF-8 bytes per UTF-16 unit. The wire schema bounds every string far below this limit; a
    // longer one would not fit the room left for its length.
    const most = s.length * 3
    if (most >= 0x200000) throw new RangeError(`message: a string of ${s.length} characters`)
    this.room(5 + most)
    // The length goes first and is not known before writing: leave room for the longest varint it needs.
    const lengthAt = this.at
    const width = most < 0x80 ? 1 : most < 0x4000 ? 2 : 3
    const n = this.buf.write(s, lengthAt + width, 'utf8')
    let v = n
    for (let i = 0; i < width - 1; i++) {
      this.buf[lengthAt + i] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    this.buf[lengthAt + width - 1] = v
    this.at = lengthAt + width + n
  }

  done(): Uint8Array {
    return this.buf.subarray(0, this.at)
  }
}

class Reader {
  private readonly buf: Buffer
  at = 0
  /** The flags of the event read last. */
  flags = 0

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  u8(): number {
    const v = this.buf[this.at++]
    if (v === undefined) throw new RangeError('message: truncated')
    return v
  }

  uint(): number {
    let v = 0
    let shift = 0
    for (;;) {
      const b = this.u8()
      v |= (b & 0x7f) << shift
      if (b < 0x80) return v >>> 0
      shift += 7
      if (shift > 28) throw new RangeError('message: varint too long')
    }
  }

  f64(): number {
    const v = this.buf.readDoubleLE(this.at)
    this.at += 8
    return v
  }

  /** A string that is there (a flagged field, a page, the visitor): empty when written empty. */
  text(): string {
    return this.str() ?? ''
  }

  /** A header string; undefined when absent. */
  str(): string | undefined {
    const n = this.uint()
    if (n === 0) return undefined
    if (this.at + n > this.buf.length) throw new RangeError('message: truncated')
    const s = this.buf.toString('utf8', this.at, this.at + n)
    this.at += n
    return s
  }
}

function writeEvent(w: Writer, e: PageEvent, flags: number): void {
  w.u8(CODE[e.type])
  switch (e.type) {
    case 'click':
      if (e.selector !== undefined) flags |= HAS_SELECTOR
      if (e.ox !== undefined) flags |= HAS_OX
      if (e.oy !== undefined) flags |= HAS_OY
      break
    case 'rage':
    case 'dead':
      if (e.selector !== undefined) flags |= HAS_SELECTOR
      break
    case 'pageview':
      if (e.referrer !== undefined) flags |= HAS_REFERRER
      break
  }
  w.u8(flags)
  w.f64(e.ts)
  w.uint(e.vw)
  w.uint(e.vh)
  w.uint(e.dw)
  w.uint(e.dh)
  switch (e.type) {
    case 'click':
      w.uint(e.x)
      w.uint(e.y)
      if (flags & HAS_SELECTOR) w.str(e.selector)
      if (flags & HAS_OX) w.f64(e.ox!)
      if (flags & HAS_OY) w.f64(e.oy!)
      break
    case 'move':
      w.uint(e.x)
      w.uint(e.y)
      w.uint(e.rest)
      break
    case 'scroll':
      w.uint(e.depth)
      break
    case 'rage':
      w.uint(e.x)
      w.uint(e.y)
      w.uint(e.count)
      if (flags & HAS_SELECTOR) w.str(e.selector)
      break
    case 'dead':
      w.uint(e.x)
      w.uint(e.y)
      if (flags & HAS_SELECTOR) w.str(e.selector)
      break
    case 'attention':
      w.uint(e.band0)
      w.uint(e.ms.length)
      for (const ms of e.ms) w.uint(ms)
      break
    case 'pageview':
      if (flags & HAS_REFERRER) w.str(e.referrer)
      break
  }
}

/** The fields every event has, zero. */
const common = () => ({ ts: 0, vw: 0, vh: 0, dw: 0, dh: 0, page: '' })
/**
 * The event objects a cursor reads into, one per type, reused by every read: 50 events of a message were
 * 50 objects (and a boxed ts each) that the workers allocated and dropped at once, a third of what they
 * allocated under the ingest bench. Optional fields are there, `undefined` when absent.
 */
const scratch: { [T in EventType]: SessionEvent & { type: T } } = {
  pageview: { type: 'pageview', ...common(), referrer: undefined },
  click: { type: 'click', ...common(), x: 0, y: 0, selector: undefined, ox: undefined, oy: undefined },
  move: { type: 'move', ...common(), x: 0, y: 0, rest: 0 },
  scroll: { type: 'scroll', ...common(), depth: 0 },
  rage: { type: 'rage', ...common(), x: 0, y: 0, count: 0, selector: undefined },
  dead: { type: 'dead', ...common(), x: 0, y: 0, selector: undefined },
  attention: { type: 'attention', ...common(), band0: 0, ms: [] as number[] },
}

/** Reads the next event into its type's scratch object; `flags` are left in `r.flags`. */
function readEvent(r: Reader): SessionEvent {
  const type = TYPES[r.u8()]
  if (type === undefined) throw new RangeError('message: unknown event type')
  const flags = r.u8()
  r.flags = flags
  const e = scratch[type]
  e.ts = r.f64()
  e.vw = r.uint()
  e.vh = r.uint()
  e.dw = r.uint()
  e.dh = r.uint()
  switch (e.type) {
    case 'click':
      e.x = r.uint()
      e.y = r.uint()
      e.selector = flags & HAS_SELECTOR ? r.text() : undefined
      e.ox = flags & HAS_OX ? r.f64() : undefined
      e.oy = flags & HAS_OY ? r.f64() : undefined
      break
    case 'move':
      e.x = r.uint()
      e.y = r.uint()
      e.rest = r.uint()
      break
    case 'scroll':
      e.depth = r.uint()
      break
    case 'rage':
      e.x = r.uint()
      e.y = r.uint()
      e.count = r.uint()
      e.selector = flags & HAS_SELECTOR ? r.text() : undefined
      break
    case 'dead':
      e.x = r.uint()
      e.y = r.uint()
      e.selector = flags & HAS_SELECTOR ? r.text() : undefined
      break
    case 'attention': {
      e.band0 = r.uint()
      const n = r.uint()
      e.ms.length = 0
      for (let i = 0; i < n; i++) e.ms.push(r.uint())
      break
    }
    case 'pageview':
      e.referrer = flags & HAS_REFERRER ? r.text() : undefined
      break
  }
  return e
}

/** Events read one at a time: `left` of them are still to come. */
export interface Events<E> {
  readonly left: number
  next(): E
}

/** The events of a message that came as an object (stored before this layout), as `Events`. */
export function eventsOf<E>(list: readonly E[]): Events<E> {
  let i = 0
  return {
    get left() {
      return list.length - i
    },
    next: () => {
      const e = list[i++]
      if (e === undefined) throw new RangeError('message: no events left')
      return e
    },
  }
}

/**
 * The events of an encoded message, read one at a time by `next()`. Every read reuses one object per
 * event type: an event is valid until the next read of any cursor, so a reader copies what it keeps.
 * Optional fields of an event are `undefined` when absent.
 */
export class EventCursor<E extends PageEvent> implements Events<E> {
  /** Events not read yet. */
  left: number
  private page = ''

  constructor(
    private readonly r: Reader,
    private readonly session: boolean,
  ) {
    this.left = r.uint()
  }

  next(): E {
    if (this.left <= 0) throw new RangeError('message: no events left')
    this.left--
    const e = readEvent(this.r)
    if (this.session) {
      if (!(this.r.flags & SAME_PAGE)) this.page = this.r.text()
      e.page = this.page
    }
    return e as unknown as E
  }

  /**
   * The events left, each an object of its own without its absent fields (and a page message's without a
   * page): what `decodePageMessage` and `decodeSessionMessage` return.
   */
  rest(): E[] {
    const out: E[] = []
    while (this.left > 0) {
      const e: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(this.next()))
        if (v !== undefined && (this.session || k !== 'page')) e[k] = k === 'ms' ? [...(v as number[])] : v
      out.push(e as E)
    }
    return out
  }
}

/** A page actor's message; events may carry fields the page actor does not read (url, page): they are left out. */
export function encodePageMessage(m: PageMessage): Uint8Array {
  const w = new Writer(m.events.length)
  w.u8(PAGE)
  w.str(m.device)
  w.str(m.country)
  w.uint(m.events.length)
  for (const e of m.events) writeEvent(w, e, 0)
  return w.done()
}

/** The optional header strings of each kind of message, in their order on the wire. */
const PAGE_HEADER = ['device', 'country'] as const
const SESSION_HEADER = ['device', 'browser', 'os', 'country'] as const

/** The next header string into `message[key]`; an absent one (written empty) is left out. */
function readOptional<K extends string>(r: Reader, message: { [k in K]?: string }, key: K): void {
  const v = r.str()
  if (v !== undefined) message[key] = v
}

/** A page message's header, and its events as a cursor (see `EventCursor`). */
export function readPageMessage(bytes: Uint8Array): {
  message: Omit<PageMessage, 'events'>
  events: EventCursor<PageEvent>
} {
  const r = new Reader(bytes)
  if (r.u8() !== PAGE) throw new RangeError('message: not a page message')
  const message: Omit<PageMessage, 'events'> = {}
  for (const key of PAGE_HEADER) readOptional(r, message, key)
  return { message, events: new EventCursor(r, false) }
}

export function decodePageMessage(bytes: Uint8Array): PageMessage {
  const { message, events } = readPageMessage(bytes)
  return { ...message, events: events.rest() }
}

/** A session actor's message; a url on the events is left out. */
export function encodeSessionMessage(m: SessionMessage): Uint8Array {
  const w = new Writer(m.events.length)
  w.u8(SESSION)
  w.str(m.visitorId)
  w.str(m.device)
  w.str(m.browser)
  w.str(m.os)
  w.str(m.country)
  w.uint(m.events.length)
  let page: string | undefined
  for (const e of m.events) {
    const same = e.page === page
    writeEvent(w, e, same ? SAME_PAGE : 0)
    if (!same) {
      w.str(e.page)
      page = e.page
    }
  }
  return w.done()
}

/** A session message's header, and its events as a cursor (see `EventCursor`). */
export function readSessionMessage(bytes: Uint8Array): {
  message: Omit<SessionMessage, 'events'>
  events: EventCursor<SessionEvent>
} {
  const r = new Reader(bytes)
  if (r.u8() !== SESSION) throw new RangeError('message: not a session message')
  const message: Omit<SessionMessage, 'events'> = { visitorId: r.text() }
  for (const key of SESSION_HEADER) readOptional(r, message, key)
  return { message, events: new EventCursor(r, true) }
}

export function decodeSessionMessage(bytes: Uint8Array): SessionMessage {
  const { message, events } = readSessionMessage(bytes)
  return { ...message, events: events.rest() }
}
