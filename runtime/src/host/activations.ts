import { Packr } from 'msgpackr'
import type { ActorContext, ActorLogic, Envelope } from '../actor.ts'
import { type ActorKey, actorKey } from '../ids.ts'
import type { ReminderRecord, SnapshotRecord } from '../store.ts'
import type { SnapshotIndex } from './snapshot-index.ts'
import type { DeadLetter, TypeStats } from './types.ts'

export const packr = new Packr({ useRecords: false })

/** What the activations of one actor type share in a worker. */
export interface ActorKind {
  readonly type: string
  readonly logic: ActorLogic
  readonly stats: TypeStats
}

/**
 * One live actor. It is its own context: the methods live on the prototype and what is common to its
 * type sits in its `kind`, so an idle activation costs a few fields and its state — no id string, no
 * closure per method, two collection entries (its shard's by-key map and the worker's LRU).
 */
export class Activation implements ActorContext {
  readonly key: ActorKey
  state: unknown = undefined
  /** Created on first use: most actors never set a timer. */
  timers: Map<string, NodeJS.Timeout> | undefined = undefined
  lastUsed: number
  /** The shard's flush epoch in which this activation was last put on its `touched` list. */
  epoch = -1
  passivateAfterTurn = false
  /** False once passivated or dropped: a timer or a stale reference must not run a turn on it. */
  live = true

  constructor(
    readonly shard: ShardState,
    readonly kind: ActorKind,
    key: string,
  ) {
    this.key = actorKey(key)
    this.lastUsed = shard.env.clock
  }

  get type(): string {
    return this.kind.type
  }

  get env(): WorkerEnv {
    return this.shard.env
  }

  now(): number {
    return this.shard.env.now()
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
          if (!this.live) return
          s.env.clock = s.env.now()
          try {
            turn(this, message)
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
  readonly env: WorkerEnv
  shard: number
  /** Last applied stream seq. */
  lastSeq: number
  /**
   * A handler threw: the shard holds part of a message's effects until the host resets it, so a flush
   * takes nothing of it (its snapshots would hold effects its position says are still to be replayed).
   */
  poisoned: boolean
  /** Activations by type, then key: the hot path looks up without building an id string. */
  byType: Map<string, Map<string, Activation>>
  /** Activations of this shard. */
  size: number
  /** Messages sent by turns, leaving with the next task result. */
  outbox: Envelope[]
  /** Drained records of actors passivated since the last flush. */
  drained: Record<string, unknown[]>
  snapshots: SnapshotRecord[]
  reminders: ReminderRecord[]
  deadLetters: DeadLetter[]
  /**
   * Activations that had a turn (or started) since the last flush, once each: only they can have
   * something to drain or a changed snapshot, so a flush never walks the idle ones.
   */
  touched: Activation[]
  /** Rises at every flush; an activation is on `touched` when its `epoch` equals it. */
  epoch: number
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
  /**
   * Every activation of the worker, roughly least recently used first: turns only stamp `lastUsed`;
   * eviction moves recently used entries to the back as it meets them (second chance).
   */
  lru: Set<Activation>
  /** Per actor type the worker hosts: its logic and what the metrics endpoint shows of it. */
  kinds: Map<string, ActorKind>
  /**
   * The node's snapshot filter: every snapshot taken here is added before it leaves the worker. Without
   * one (a worker not set up by a host), every activation of a type with durable state asks the host.
   */
  snapshotIndex?: SnapshotIndex
}

/** Upper bounds (seconds) of the handler-time histogram buckets; the last bucket is +Inf. */
export const HANDLER_BUCKETS = [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]
/** One turn in this many is timed: timing every turn would cost a noticeable share of a cheap turn. */
export const TIMING_SAMPLE = 8

export function newKind(logic: ActorLogic): ActorKind {
  return {
    type: logic.type,
    logic,
    stats: {
      activations: 0,
      passivations: 0,
      turns: 0,
      buckets: new Array<number>(HANDLER_BUCKETS.length + 1).fill(0),
      sumSeconds: 0,
      timed: 0,
    },
  }
}

export function newShard(env: WorkerEnv, shard: number, base: number): ShardState {
  return {
    env,
    shard,
    lastSeq: base,
    poisoned: false,
    byType: new Map(),
    size: 0,
    outbox: [],
    drained: {},
    snapshots: [],
    reminders: [],
    deadLetters: [],
    touched: [],
    epoch: 0,
    queue: Promise.resolve(),
  }
}

/** Runs `fn` after the shard's earlier work; a failure does not block later work. */
export function serial<T>(s: ShardState, fn: () => T | Promise<T>): Promise<T> {
  const run = s.queue.then(fn, fn)
  s.queue = run.catch(() => {})
  return run
}

/** The active actor `(type, key)` of a shard, if any. */
export function activeIn(s: ShardState, type: string, key: string): Activation | undefined {
  return s.byType.get(type)?.get(key)
}

export function activate(
  s: ShardState,
  kind: ActorKind,
  key: string,
  snapshot: Uint8Array | undefined,
): Activation {
  let keys = s.byType.get(kind.type)
  if (keys === undefined) {
    keys = new Map()
    s.byType.set(kind.type, keys)
  }
  const existing = keys.get(key)
  if (existing !== undefined) return existing
  const a = new Activation(s, kind, key)
  const logic = kind.logic
  a.state =
    snapshot !== undefined && logic.restore !== undefined
      ? logic.restore(packr.unpack(snapshot), a.key, a)
      : logic.initial(a.key, a)
  keys.set(key, a)
  s.size++
  touch(a)
  s.env.lru.add(a)
  s.env.counters.activations++
  kind.stats.activations++
  return a
}

function touch(a: Activation): void {
  const s = a.shard
  if (a.epoch === s.epoch) return
  a.epoch = s.epoch
  s.touched.push(a)
}

/** One turn of `a` with `message`; throws what the handler throws. */
export function turn(a: Activation, message: unknown): void {
  const { stats, logic } = a.kind
  if (++stats.turns % TIMING_SAMPLE === 0) {
    const t0 = performance.now()
    a.state = logic.receive(a.state, message, a)
    const seconds = (performance.now() - t0) / 1000
    let b = 0
    while (b < HANDLER_BUCKETS.length && seconds > HANDLER_BUCKETS[b]!) b++
    stats.buckets[b]!++
    stats.sumSeconds += seconds
    stats.timed++
  } else a.state = logic.receive(a.state, message, a)
  a.lastUsed = a.shard.env.clock
  touch(a)
  if (a.passivateAfterTurn) passivate(a)
}

/**
 * What a flush takes from a shard: the drained records of every activation touched since the last
 * flush (and of those passivated meanwhile), and the snapshots of those with durable state.
 */
export function takeChanges(s: ShardState): {
  drained: Record<string, unknown[]>
  snapshots: SnapshotRecord[]
} {
  const drained = s.drained
  s.drained = {}
  for (const a of s.touched) {
    if (!a.live) continue
    drainInto(drained, a)
    const snap = snapshotOf(a)
    if (snap !== undefined) s.snapshots.push(snap)
  }
  s.touched = []
  s.epoch++
  return { drained, snapshots: s.snapshots.splice(0) }
}

/** Passivates least recently used activations until at most `max` remain. */
export function evict(env: WorkerEnv, max: number, recentMs: number): void {
  let budget = env.lru.size
  while (env.lru.size > max) {
    const oldest = env.lru.values().next().value as Activation
    if (budget-- > 0 && oldest.lastUsed > env.clock - recentMs) {
      // Used lately: a second chance at the back of the line.
      env.lru.delete(oldest)
      env.lru.add(oldest)
      continue
    }
    passivate(oldest)
  }
}

function addDrained(target: Record<string, unknown[]>, type: string, out: unknown[]): void {
  if (out.length === 0) return
  const list = target[type]
  if (list === undefined) target[type] = out
  else for (const d of out) list.push(d)
}

function drainInto(target: Record<string, unknown[]>, a: Activation): void {
  const logic = a.kind.logic
  if (logic.drain !== undefined) addDrained(target, a.type, logic.drain(a.state, a))
}

function snapshotOf(a: Activation): SnapshotRecord | undefined {
  const logic = a.kind.logic
  if (logic.snapshot === undefined) return undefined
  const ref = { type: a.type, key: a.key }
  a.env.snapshotIndex?.add(ref)
  return { ...ref, shard: a.shard.shard, data: packr.pack(logic.snapshot(a.state)) }
}

/** Ends an activation: its drained records and snapshot go out with the next flush. */
export function passivate(a: Activation): void {
  if (!a.live) return
  const s = a.shard
  drainInto(s.drained, a)
  const snap = snapshotOf(a)
  if (snap !== undefined) s.snapshots.push(snap)
  dispose(a)
  s.env.counters.passivations++
  a.kind.stats.passivations++
}

/** Drops an activation without keeping anything (a reset before a replay). */
export function dispose(a: Activation): void {
  if (!a.live) return
  a.live = false
  for (const t of a.timers?.values() ?? []) clearTimeout(t)
  a.timers = undefined
  const s = a.shard
  s.byType.get(a.type)?.delete(a.key)
  s.size--
  s.env.lru.delete(a)
}

export function reasonOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e)
}
