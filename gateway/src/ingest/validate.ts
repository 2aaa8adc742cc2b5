import {
  AttentionEvent,
  ClickEvent,
  DeadEvent,
  type IngestBatch,
  IngestBatch as IngestBatchSchema,
  MoveEvent,
  PageviewEvent,
  RageEvent,
  ScrollEvent,
} from '@hm/actors'
import { type TObject, Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { Endpoint } from './endpoints.ts'

/** The wire schema of each event type, by its `type` literal. */
const eventSchemas: Record<string, TObject> = {
  pageview: PageviewEvent,
  click: ClickEvent,
  move: MoveEvent,
  scroll: ScrollEvent,
  rage: RageEvent,
  dead: DeadEvent,
  attention: AttentionEvent,
}
const checkBatch = TypeCompiler.Compile(IngestBatchSchema)
// Maps, not objects: a `type` read from a body may be any string, `toString` or `__proto__` too.
const checkEvent = new Map(
  Object.entries(eventSchemas).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
)
const dotted = (path: string): string => path.replace(/^\//, '').replaceAll('/', '.')

/**
 * A closed object schema as the checks of its properties, compiled without the closure, and the names it
 * allows. TypeBox checks a closed object with `Object.getOwnPropertyNames(value).every(key =>
 * [...names].includes(key))`: an array of names and an array literal per name, per event. Under the ingest
 * bench that was 8% of everything the gateway's thread allocated.
 */
function opened(schema: TObject) {
  return {
    check: TypeCompiler.Compile(Type.Object(schema.properties)),
    names: new Set(Object.keys(schema.properties)),
  }
}
const batchFields = opened(
  Type.Object({
    ...IngestBatchSchema.properties,
    events: Type.Array(Type.Unknown(), { minItems: 1, maxItems: 500 }),
  }),
)
const eventFields = new Map(Object.entries(eventSchemas).map(([type, schema]) => [type, opened(schema)]))

/** Whether every enumerable property of `value` is one of `names` (no array, no set is made). */
function onlyNames(value: object, names: ReadonlySet<string>): boolean {
  for (const key in value) if (!names.has(key)) return false
  return true
}

/**
 * The wire schema's verdict on a value `JSON.parse` made, without TypeBox's check of closed objects: the
 * same checks of each field, and the names of an object's properties tested in place. The schema's
 * union of events is decided by `type`, which every member fixes to a different literal. For such a value
 * (plain objects, every property its own and enumerable) the answer is the schema's own; the gateway
 * still asks the schema whenever this says no, so an answer of no costs only time.
 */
export function matchesWireSchema(value: unknown): value is IngestBatch {
  if (!batchFields.check.Check(value) || !onlyNames(value as object, batchFields.names)) return false
  for (const e of (value as { events: unknown[] }).events) {
    if (typeof e !== 'object' || e === null) return false
    const fields = eventFields.get((e as { type?: unknown }).type as string)
    if (fields === undefined || !fields.check.Check(e) || !onlyNames(e, fields.names)) return false
  }
  return true
}

/** The first problem of an invalid batch, naming its field (inside an event, by the event's own type). */
function describeInvalid(value: unknown): string {
  const first = checkBatch.Errors(value).First()
  if (first === undefined) return 'body: invalid'
  const m = /^\/events\/(\d+)$/.exec(first.path)
  if (m !== null) {
    const event = (value as { events: unknown[] }).events[Number(m[1])]
    const type = (event as { type?: unknown } | null)?.type
    const checker = typeof type === 'string' ? checkEvent.get(type) : undefined
    if (checker === undefined) {
      return `events.${m[1]}.type: must be one of ${[...checkEvent.keys()].join(', ')}`
    }
    const inner = checker.Errors(event).First()
    if (inner !== undefined) return `events.${m[1]}${inner.path.replaceAll('/', '.')}: ${inner.message}`
  }
  return `${dotted(first.path) || 'body'}: ${first.message}`
}

/**
 * The batch if `value` matches the wire schema and every event is of a type `endpoint` takes; otherwise
 * a message naming the first bad field (`events.3.x: Expected integer to be greater or equal to 0`).
 */
export function validateBatch(
  value: unknown,
  endpoint: Endpoint,
): { batch: IngestBatch; problem?: undefined } | { batch?: undefined; problem: string } {
  if (!matchesWireSchema(value) && !checkBatch.Check(value)) return { problem: describeInvalid(value) }
  if (endpoint.types !== undefined) {
    const i = value.events.findIndex((e) => !endpoint.types!.has(e.type))
    if (i >= 0)
      return { problem: `events.${i}.type: ${endpoint.path} takes ${[...endpoint.types].join(', ')}` }
  }
  return { batch: value }
}
