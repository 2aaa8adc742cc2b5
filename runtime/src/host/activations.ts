import { Packr } from 'msgpackr'
import type { ActorContext, ActorLogic, Envelope } from '../actor.ts'
import { type ActorKey, actorKey } from '../ids.ts'
import { type ReminderRecord, refId, type SnapshotRecord } from '../store.ts'
import type { DeadLetter } from './types.ts'

export const packr = new Packr({ useRecords: false })

export interface Activation {
  id: string
  shard: ShardState
  logic: ActorLogic
  state: unknown
  ctx: ActorContext
  timers: Map<string, NodeJS.Timeout>
  lastUsed: number
  passivateAfterTurn: boolean
}

/** Everything a worker holds for one shard. */
export interface ShardState {
  shard: number
  /** Last applied stream seq. */
  lastSeq: number
  actors: Map<string, Activation>
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
  counters: { activations: number; passivations: number }
  /** Every activation of the worker, least recently used first. */
  lru: Map<string, Activation>
}

export function newShard(shard: number, base: number): ShardState {
  return {
    shard,
    lastSeq: base,
    actors: new Map(),
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
  const a = {
    id,
    shard: s,
    logic,
    timers: new Map(),
    lastUsed: env.now(),
    passivateAfterTurn: false,
  } as Activation
  a.ctx = makeContext(env, a, type, actorKey(key))
  a.state =
    snapshot !== undefined && logic.restore !== undefined
      ? logic.restore(packr.unpack(snapshot), a.ctx.key, a.ctx)
      : logic.initial(a.ctx.key, a.ctx)
  s.actors.set(id, a)
  env.lru.set(id, a)
  env.counters.activations++
  return a
}

/** One turn of `a` with `message`; throws what the handler throws. */
export function turn(env: WorkerEnv, a: Activation, message: unknown): void {
  a.state = a.logic.receive(a.state, message, a.ctx)
  a.lastUsed = env.now()
  env.lru.delete(a.id)
  env.lru.set(a.id, a)
  if (a.logic.snapshot !== undefined) a.shard.dirty.add(a.id)
  if (a.passivateAfterTurn) passivate(env, a)
}

function addDrained(target: Record<string, unknown[]>, type: string, out: unknown[]): void {
  if (out.length === 0) return
  const list = target[type]
  if (list === undefined) target[type] = out
  else for (const d of out) list.push(d)
}

export function drainInto(target: Record<string, unknown[]>, a: Activation): void {
  if (a.logic.drain !== undefined) addDrained(target, a.ctx.type, a.logic.drain(a.state, a.ctx))
}

export function snapshotOf(a: Activation): SnapshotRecord | undefined {
  if (a.logic.snapshot === undefined) return undefined
  return {
    type: a.ctx.type,
    key: a.ctx.key,
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
}

/** Drops an activation without keeping anything (a reset before a replay). */
export function dispose(env: WorkerEnv, a: Activation): void {
  for (const t of a.timers.values()) clearTimeout(t)
  a.timers.clear()
  a.shard.actors.delete(a.id)
  env.lru.delete(a.id)
}

function makeContext(env: WorkerEnv, a: Activation, type: string, key: ActorKey): ActorContext {
  const s = a.shard
  return {
    type,
    key,
    now: env.now,
    tell: (toType, toKey, message) => {
      s.outbox.push([toType, toKey, message])
    },
    setTimer: (name, delayMs, message) => {
      clearTimeout(a.timers.get(name))
      const t = setTimeout(
        () => {
          a.timers.delete(name)
          void serial(s, () => {
            if (s.actors.get(a.id) !== a) return
            try {
              turn(env, a, message)
            } catch (e) {
              s.deadLetters.push({
                shard: s.shard,
                seq: s.lastSeq,
                index: -1,
                type,
                key,
                reason: reasonOf(e),
              })
            }
          })
        },
        Math.max(0, delayMs),
      )
      t.unref()
      a.timers.set(name, t)
    },
    cancelTimer: (name) => {
      clearTimeout(a.timers.get(name))
      a.timers.delete(name)
    },
    setReminder: (name, atMs, message) => {
      s.reminders.push({ type, key, shard: s.shard, name, at: atMs, message: packr.pack(message) })
    },
    cancelReminder: (name) => {
      s.reminders.push({ type, key, shard: s.shard, name, at: null, message: new Uint8Array() })
    },
    watched: (topic) => env.watched.has(topic),
    publish: (topic, payload) => {
      if (env.watched.has(topic)) env.publish(topic, payload)
    },
    passivate: () => {
      a.passivateAfterTurn = true
    },
  }
}

export function reasonOf(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e)
}
