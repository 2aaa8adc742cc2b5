import { type Static, Type } from '@sinclair/typebox'

/**
 * The ingest wire format: what the SDK sends to `POST /v1/events/collect`. The SDK and the console
 * import these types only (`import type`); the gateway validates bodies against the schemas.
 * Coordinates are CSS pixels of the document (not the viewport).
 */

const Int = (min: number, max: number) => Type.Integer({ minimum: min, maximum: max })
const Px = Int(0, 1_000_000)

const Common = {
  /** Milliseconds since the epoch, in the browser's clock. */
  ts: Type.Integer({ minimum: 0, maximum: 8_640_000_000_000 }),
  /** The page URL as the browser shows it; the gateway masks and normalises it. */
  url: Type.String({ minLength: 1, maxLength: 2048 }),
  /** Viewport width and height. */
  vw: Int(1, 20_000),
  vh: Int(1, 20_000),
  /** Document width and height. */
  dw: Int(1, 100_000),
  dh: Int(1, 1_000_000),
}

export const PageviewEvent = Type.Object(
  { type: Type.Literal('pageview'), ...Common, referrer: Type.Optional(Type.String({ maxLength: 2048 })) },
  { additionalProperties: false },
)

export const ClickEvent = Type.Object(
  {
    type: Type.Literal('click'),
    ...Common,
    x: Px,
    y: Px,
    /** CSS selector of the clicked element (never its text). */
    selector: Type.Optional(Type.String({ maxLength: 512 })),
    /** Offset of the click inside the element, as a share of its width and height. */
    ox: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    oy: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
)

export const MoveEvent = Type.Object(
  {
    type: Type.Literal('move'),
    ...Common,
    x: Px,
    y: Px,
    /** How long the cursor rested there, in ms. */
    rest: Int(0, 3_600_000),
  },
  { additionalProperties: false },
)

export const ScrollEvent = Type.Object(
  {
    type: Type.Literal('scroll'),
    ...Common,
    /** Deepest document y the bottom of the viewport has reached on this page view. */
    depth: Px,
  },
  { additionalProperties: false },
)

/** A burst of clicks in one place (the SDK's rule: 3 or more within 1 s and 30 px). */
export const RageEvent = Type.Object(
  {
    type: Type.Literal('rage'),
    ...Common,
    x: Px,
    y: Px,
    selector: Type.Optional(Type.String({ maxLength: 512 })),
    /** Clicks in the burst. */
    count: Int(3, 1000),
  },
  { additionalProperties: false },
)

/** A click that changed nothing: no navigation and no DOM change within about a second. */
export const DeadEvent = Type.Object(
  {
    type: Type.Literal('dead'),
    ...Common,
    x: Px,
    y: Px,
    selector: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
)

/** Height of an attention band on the wire, in document pixels (the same as the grid's rows). */
export const ATTENTION_BAND_PX = 16

/** Visible time per band of the document since the last attention event of this page view. */
export const AttentionEvent = Type.Object(
  {
    type: Type.Literal('attention'),
    ...Common,
    /** Index of the first band (`y / ATTENTION_BAND_PX`). */
    band0: Int(0, 1_000_000 / ATTENTION_BAND_PX),
    /** Visible milliseconds of band `band0 + i`. */
    ms: Type.Array(Int(0, 3_600_000), { minItems: 1, maxItems: 4096 }),
  },
  { additionalProperties: false },
)

export const WireEvent = Type.Union([
  PageviewEvent,
  ClickEvent,
  MoveEvent,
  ScrollEvent,
  RageEvent,
  DeadEvent,
  AttentionEvent,
])

export const IngestBatch = Type.Object(
  {
    /** The website's public tracking id. */
    siteKey: Type.String({ minLength: 4, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
    /** Unique per batch; a retry sends the same id and is counted once. */
    batchId: Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
    visitorId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
    sessionId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
    events: Type.Array(WireEvent, { minItems: 1, maxItems: 500 }),
  },
  { additionalProperties: false },
)

export type PageviewEvent = Static<typeof PageviewEvent>
export type ClickEvent = Static<typeof ClickEvent>
export type MoveEvent = Static<typeof MoveEvent>
export type ScrollEvent = Static<typeof ScrollEvent>
export type RageEvent = Static<typeof RageEvent>
export type DeadEvent = Static<typeof DeadEvent>
export type AttentionEvent = Static<typeof AttentionEvent>
export type WireEvent = Static<typeof WireEvent>
export type IngestBatch = Static<typeof IngestBatch>
