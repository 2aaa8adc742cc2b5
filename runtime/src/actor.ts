import type { ActorKey } from './ids.ts'

/** What a handler may ask of the runtime during one turn. */
export interface ActorContext {
  readonly type: string
  readonly key: ActorKey
  /** The runtime's clock; never read `Date.now()` in actor logic, so tests can drive time. */
  now(): number
}

/**
 * An actor type as pure logic over state and message. The runtime owns the mailbox, scheduling, the
 * order of turns and the durability of what `drain` hands out.
 *
 * @example
 * const counter = defineActor<{ n: number }, { add: number }, number>({
 *   type: 'counter',
 *   initial: () => ({ n: 0 }),
 *   receive: (s, m) => ({ n: s.n + m.add }),
 *   drain: (s) => [s.n],
 * })
 */
export interface ActorLogic<S = unknown, M = unknown, D = unknown> {
  readonly type: string
  initial(key: ActorKey, ctx: ActorContext): S
  /** One turn. May mutate and return `state`, or return a new one. */
  receive(state: S, message: M, ctx: ActorContext): S
  /**
   * Hands out what changed since the last call (for example deltas to store). The host makes the
   * drained records durable through its sink before it acknowledges the messages that produced them.
   */
  drain?(state: S, ctx: ActorContext): D[]
}

export function defineActor<S, M, D = never>(logic: ActorLogic<S, M, D>): ActorLogic<S, M, D> {
  return logic
}

/** A message on the wire: to actor `(type, key)`. */
export type Envelope = readonly [type: string, key: string, message: unknown]
