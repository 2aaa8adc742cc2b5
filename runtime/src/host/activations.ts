import { Packr } from 'msgpackr'
import type { ActorContext, ActorLogic, Envelope } from '../actor.ts'
import { type ActorKey, actorKey } from '../ids.ts'
import { type ReminderRecord, refId, type SnapshotRecord } from '../store.ts'
import type { DeadLetter, TypeStats } from './types.ts'

export const packr = new Packr({ useRecords: false })

/**
 * One live actor. It is its own context: the methods live on the prototype, so an idle activation costs
 * its fields and its state, not a closure per method.
 */
export class Activation implements ActorContext {
  readonly key: ActorKey
  state: unknown = undefined
  /** Created on first use: most actors never set a timer. */
  timers: Map<string, NodeJS.Timeout> | undefined = undefined
  lastUsed: number
  passivateAfterTurn = false
  readonly stats: TypeStats

  constructor(
    readonly env: WorkerEnv,
    readonly id: string,
    readonly shard: ShardState,
    readonly logic: ActorLogic,
    readonly type: string,
    key: string,
  ) {
    this.key = actorKey(key)
    this.lastUsed = env.clock
    this.stats = typeStats(env, type)
  }

  now(): number {
    return this.env.now()
  }

  tell(type: string, key: string, message: unknown): void {
    this.shard.outbox.push([type, key, message])
  }

  setTimer(name: string, delayMs: number, message: unknown): void {
    this.cancelTimer(name)
    const t = setTimeout(
      () => {
        this.timers?.delete(name)
        const s = this.shard
        void serial(s, () => {
          if (s.actors.get(this.id) !== this) return
          this.env.clock = this.env.now()
          try {
            turn(this.env, this, message)
          } catch (e) {
            s.deadLetters.push({
              shard: s.shard,
              seq: s.lastSeq,
              index: -1,
              type: this.type,
              key: this.key,
              reason: reasonOf(e),
            })
          }
        })
      },
      Math.max(0, delayMs),
    )
    t.unref()
    this.timers ??= new Map()
    this.timers.set(name, t)
  }

  cancelTimer(name: string): void {
    const t = this.timers?.get(name)
    if (t === undefined) return
    clearTimeout(t)
    this.timers!.delete(name)
  }

  setReminder(name: string, atMs: number, message: unknown): void {
    this.pushReminder(name, atMs, packr.pack(message))
  }

  cancelReminder(name: string): void {
    this.pushReminder(name, null, new Uint8Array())
  }

  private pushReminder(name: string, at: number | null, message: Uint8Array): void {
    const s = this.shard
    s.reminders.push({ type: this.type, key: this.key, shard: s.shard, name, at, message })
  }

  watched(topic: string): boolean {
    return this.env.watched.has(topic)
  }

  publish(topic: string, payload: unknown): void {
    if (this.env.watched.has(topic)) this.env.publish(topic, payload)
  }

  passivate(): void {
    this.passivateAfterTurn = true
  }
}

/** Everything a worker holds for one shard. */
export interface ShardState {
  shard: number
  /** Last applied stream seq. */
  lastSeq: number
  actors: Map<string, Activation>
  /** The same activations by type, then key: the hot path looks up without building an id string. */
  byType: Map<string, Map<string, Activation>>
  /** Messages sent by turns, leaving with the next task result. */
  outbox: Envelope[]
  /** Drained records of actors passivated since the last flush. */
  drained: Record<string, unknown[]>
  snapshots: SnapshotRecord[]
  reminders: ReminderRecord[]
  deadLetters: DeadLetter[]
  /** Activations with durable state changed since the last flush. */
  dirty: Set<string>
  /** Serialises the shard's asynchronous work (snapshot loads) with its other tasks. */
  queue: Promise<unknown>
}

export interface WorkerEnv {
  watched: Set<string>
  publish(topic: string, payload: unknown): void
  now(): number
  /** The time of the current task, read once per task: turns stamp their activation with it. */
  clock: number
  counters: { activations: number; passivations: number }
  /** Per actor type: what the metrics endpoint shows. */
  typeStats: Map<string, TypeStats>
  /**
   * Every activation of the worker, roughly least recently used first: turns only stamp `lastUsed`;
   * eviction moves recently used entries to the back as it meets them (second chance).
   */
  lru: Map<string, Activation>
}

/** Upper bounds (seconds) of the handler-time histogram buckets; the last bucket is +Inf. */
export const HANDLER_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]
/** One turn in this many is timed: timing every turn would cost a noticeable share of a cheap turn. */
export const TIMING_SAMPLE = 8

export function typeStats(env: WorkerEnv, type: string): TypeStats {
  let t = env.typeStats.get(type)
  if (t === undefined) {
    t = {
      activations: 0,
      passivations: 0,
      turns: 0,
      buckets: new Array<number>(HANDLER_BUCKETS.length + 1).fill(0),
      sumSeconds: 0,
      timed: 0,
    }
    env.typeStats.set(type, t)
  }
  return t
}

export function newShard(shard: number, base: number): ShardState {
  return {
    shard,
    lastSeq: base,
    actors: new Map(),
    byType: new Map(),
    outbox: [],
    drained: {},
    snapshots: [],
    reminders: [],
    deadLetters: [],
    dirty: new Set(),
    queue: Promise.resolve(),
  }
}

/** Runs `fn` after the shard's earlier work; a failure does not block later work. */
export function serial<T>(s: ShardState, fn: () => T | Promise<T>): Promise<T> {
  const run = s.queue.then(fn, fn)
  s.queue = run.catch(() => {})
  return run
}

export function activate(
  env: WorkerEnv,
  s: ShardState,
  logic: ActorLogic,
  type: string,
  key: string,
  snapshot: Uint8Array | undefined,
): Activation {
  const id = refId(type, key)
  const existing = s.actors.get(id)
  if (existing !== undefined) return existing
  const a = new Activation(env, id, s, logic, type, key)
  a.state =
    snapshot !== undefined && logic.restore !== undefined
      ? logic.restore(packr.unpack(snapshot), a.key, a)
      : logic.initial(a.key, a)
  s.actors.set(id, a)
  let keys = s.byType.get(type)
  if (keys === undefined) {
    keys = new Map()
    s.byType.set(type, keys)
  }
  keys.set(key, a)
  env.lru.set(id, a)
  env.counters.activations++
  a.stats.activations++
  return a
}

/** One turn of `a` with `message`; throws what the handler throws. */
export function turn(env: WorkerEnv, a: Activation, message: unknown): void {
  const stats = a.stats
  if (++stats.turns % TIMING_SAMPLE === 0) {
    const t0 = performance.now()
    a.state = a.logic.receive(a.state, message, a)
    const seconds = (performance.now() - t0) / 1000
    let b = 0
    while (b < HANDLER_BUCKETS.length && seconds > HANDLER_BUCKETS[b]!) b++
    stats.buckets[b]!++
    stats.sumSeconds += seconds
    stats.timed++
  } else a.state = a.logic.receive(a.state, message, a)
  a.lastUsed = env.clock
  if (a.logic.snapshot !== undefined) a.shard.dirty.add(a.id)
  if (a.passivateAfterTurn) passivate(env, a)
}

/** Passivates least recently used activations until at most `max` remain. */
export function evict(env: WorkerEnv, max: number, recentMs: number): void {
  let budget = env.lru.size
  while (env.lru.size > max) {
    const oldest = env.lru.values().next().value as Activation
    if (budget-- > 0 && oldest.lastUsed > env.clock - recentMs) {
      // Used lately: a second chance at the back of the line.
      env.lru.delete(oldest.id)
      env.lru.set(oldest.id, oldest)
      continue
    }
    passivate(env, oldest)
  }
}

function addDrained(target: Record<string, unknown[]>, type: string, out: unknown[]): void {
  if (out.length === 0) return
  const list = target[type]
  if (list === undefined) target[type] = out
  else for (const d of out) list.push(d)
}

export function drainInto(target: Record<string, unknown[]>, a: Activation): void {
  if (a.logic.drain !== undefined) addDrained(target, a.type, a.logic.drain(a.state, a))
}

export function snapshotOf(a: Activation): SnapshotRecord | undefined {
  if (a.logic.snapshot === undefined) return undefined
  return {
    type: a.type,
    key: a.key,
    shard: a.shard.shard,
    data: packr.pack(a.logic.snapshot(a.state)),
  }
}

/** Ends an activation: its drained records and snapshot go out with the next flush. */
export function passivate(env: WorkerEnv, a: Activation): void {
  const s = a.shard
  if (s.actors.get(a.id) !== a) return
  drainInto(s.drained, a)
  const snap = snapshotOf(a)
  if (snap !== undefined) s.snapshots.push(snap)
  s.dirty.delete(a.id)
  dispose(env, a)
  env.counters.passivations++
  a.stats.passivations++
}

/** Drops an activation without keeping anything (a reset before a replay). */
export function dispose(env: WorkerEnv, a: Activation): void {
  for (const t of a.timers?.values() ?? []) clearTimeout(t)
  a.timers = undefined
  a.shard.actors.delete(a.id)
  a.shard.byType.get(a.type)?.delete(a.key)
  env.lru.delete(a.id)
}

export function reasonOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e)
}
