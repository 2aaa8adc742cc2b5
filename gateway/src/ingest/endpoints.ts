import type { WireEvent } from '@hm/actors'

/** An ingest route and the event types its batches may hold (`undefined`: every type). */
export interface Endpoint {
  readonly name: 'collect' | 'click' | 'scroll' | 'mouse'
  readonly path: string
  readonly types: ReadonlySet<WireEvent['type']> | undefined
}

/**
 * The batch endpoint and the single-kind ones: the same body shape, restricted to the events one kind of
 * interaction produces — a click (and the rage and dead clicks it may become), the viewport's position
 * (scroll depth and attention), the resting cursor.
 */
export const endpoints: readonly Endpoint[] = [
  { name: 'collect', path: '/v1/events/collect', types: undefined },
  { name: 'click', path: '/v1/events/click', types: new Set(['click', 'rage', 'dead']) },
  { name: 'scroll', path: '/v1/events/scroll', types: new Set(['scroll', 'attention']) },
  { name: 'mouse', path: '/v1/events/mouse', types: new Set(['move']) },
]
