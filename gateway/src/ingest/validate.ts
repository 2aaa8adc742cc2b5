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
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { Endpoint } from './endpoints.ts'

const checkBatch = TypeCompiler.Compile(IngestBatchSchema)
const checkEvent = {
  pageview: TypeCompiler.Compile(PageviewEvent),
  click: TypeCompiler.Compile(ClickEvent),
  move: TypeCompiler.Compile(MoveEvent),
  scroll: TypeCompiler.Compile(ScrollEvent),
  rage: TypeCompiler.Compile(RageEvent),
  dead: TypeCompiler.Compile(DeadEvent),
  attention: TypeCompiler.Compile(AttentionEvent),
}
const dotted = (path: string): string => path.replace(/^\//, '').replaceAll('/', '.')

/** The first problem of an invalid batch, naming its field (inside an event, by the event's own type). */
function describeInvalid(value: unknown): string {
  const first = checkBatch.Errors(value).First()
  if (first === undefined) return 'body: invalid'
  const m = /^\/events\/(\d+)$/.exec(first.path)
  if (m !== null) {
    const event = (value as { events: unknown[] }).events[Number(m[1])]
    const type = (event as { type?: unknown } | null)?.type
    const checker = typeof type === 'string' ? checkEvent[type as keyof typeof checkEvent] : undefined
    if (checker === undefined) {
      return `events.${m[1]}.type: must be one of ${Object.keys(checkEvent).join(', ')}`
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
  if (!checkBatch.Check(value)) return { problem: describeInvalid(value) }
  if (endpoint.types !== undefined) {
    const i = value.events.findIndex((e) => !endpoint.types!.has(e.type))
    if (i >= 0)
      return { problem: `events.${i}.type: ${endpoint.path} takes ${[...endpoint.types].join(', ')}` }
  }
  return { batch: value }
}
