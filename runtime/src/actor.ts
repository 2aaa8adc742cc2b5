import type { ActorKey } from './ids.ts'

/** What a handler may ask of the runtime during one turn. Effects take place after the turn. */
export interface ActorContext<M = unknown> {
  readonly type: string
  readonly key: ActorKey
  /** The runtime's clock; never read `Date.now()` in actor logic, so tests can drive time. */
  now(): number
  /** Sends a message to any actor, wherever it lives (through the transport). */
  tell(type: string, key: string, message: unknown): void
  /** Starts or restarts an in-memory timer: `message` comes back to this actor after `delayMs`. */
  setTimer(name: string, delayMs: number, message: M): void
  cancelTimer(name: string): void
  /**
   * A persisted reminder: `message` comes back at `atMs` even if the actor was passivated or the node
   * restarted in between. Setting a name again moves it.
   */
  setReminder(name: string, atMs: number, message: M): void
  cancelReminder(name: string): void
  /** Whether anyone watches `topic` now: actors keep live-only data only while someone does. */
  watched(topic: string): boolean
  /** Sends `payload` to the watchers of `topic`; dropped at once when nobody watches. */
  publish(topic: string, payload: unknown): void
  /** Ends this activation after the turn; its state is snapshotted and comes back on the next message. */
  passivate(): void
}

/**
 * An actor type as pure logic over state and message. The runtime owns the mailbox, scheduling, the
 * order of turns, timers, persistence and the durability of what `drain` hands out.
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
  initial(key: ActorKey, ctx: ActorContext<M>): S
  /** One turn. May mutate and return `state`, or return a new one. */
  receive(state: S, message: M, ctx: ActorContext<M>): S
  /**
   * Hands out what changed since the last call (for example deltas to store). The host makes the
   * drained records durable through its sink before it acknowledges the messages that produced them.
   * It is called at a flush for the actors that had a turn (or started) since the previous one, and at
   * passivation: an actor that holds something back for later sets a timer to be back in time.
   */
  drain?(state: S, ctx: ActorContext<M>): D[]
  /**
   * Answers a question about the state without changing it (`host.ask`). Runs between turns, so it
   * sees every message applied before it.
   */
  ask?(state: S, request: unknown, ctx: ActorContext<M>): unknown
  /**
   * The durable part of the state, for actors whose state outlives a flush (sessions). Actors without it
   * (pure delta aggregators) restart empty, which is right for them: their deltas are stored by `drain`.
   */
  snapshot?(state: S): unknown
  restore?(snapshot: unknown, key: ActorKey, ctx: ActorContext<M>): S
}

export function defineActor<S, M, D = never>(logic: ActorLogic<S, M, D>): ActorLogic<S, M, D> {
  return logic
}

/** A message on the wire: to actor `(type, key)`. */
export type Envelope = readonly [type: string, key: string, message: unknown]
