import { isMainThread, MessageChannel, parentPort, threadId } from 'node:worker_threads'
import * as Comlink from 'comlink'
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina'
import type { ActorLogic, Envelope } from '../actor.ts'
import { asEndpoint } from '../comlink-endpoint.ts'
import { type DrainEncoder, encodeDrained } from '../drained.ts'
import { decodeEnvelopes } from '../envelopes.ts'
import { RuntimeError } from '../errors.ts'
import { packedMap } from '../packed.ts'
import { type ActorRef, refId } from '../store.ts'
import {
  type ActorKind,
  activate,
  activeIn,
  dispose,
  evict,
  newKind,
  newShard,
  passivate,
  reasonOf,
  type ShardState,
  serial,
  takeChanges,
  turn,
  type WorkerEnv,
} from './activations.ts'
import { FlushBytes, layOut } from './flush-wire.ts'
import { SnapshotIndex } from './snapshot-index.ts'
import type {
  AskTask,
  ControlApi,
  DeadLetter,
  DeliverResult,
  DeliverTask,
  DropTask,
  FlushResult,
  FlushTask,
  HostApi,
  ResetTask,
  ShardDelivery,
  WorkerEvent,
  WorkerInit,
  WorkerResult,
  WorkerStats,
  WorkerTask,
} from './types.ts'

// Worker-thread state; set up by createWorkerHandler, which only a worker file calls.
let init: WorkerInit
const shards = new Map<number, ShardState>()
const env: WorkerEnv = {
  watched: new Set(),
  publish: (topic, payload) => {
    const event: WorkerEvent = { kind: 'hm-rt-publish', topic, payload }
    parentPort?.postMessage(event)
  },
  now: Date.now,
  clock: Date.now(),
  counters: { activations: 0, passivations: 0 },
  lru: new Set(),
  kinds: new Map(),
}
let host: Comlink.Remote<HostApi>
let encode: DrainEncoder = encodeDrained
/** The host's shared values as last fetched, and their version (0: none shared yet). */
let shared: { version: number; values: ReadonlyMap<string, unknown> } = { version: 0, values: new Map() }
let sharing: Promise<void> | undefined

/** Fetches the host's shared values when a task says they changed; one fetch for every flush waiting. */
async function syncShared(version: number): Promise<void> {
  while (shared.version < version) {
    sharing ??= host.shared().then(
      (s) => {
        shared = s
        sharing = undefined
      },
      (e: unknown) => {
        sharing = undefined
        throw e
      },
    )
    await sharing
  }
}

function shardState(shard: number, base: number): ShardState {
  let s = shards.get(shard)
  if (s === undefined) {
    s = newShard(env, shard, base)
    shards.set(shard, s)
  }
  return s
}

function kindOf(type: string): ActorKind {
  const kind = env.kinds.get(type)
  if (kind === undefined) throw new RuntimeError('RT_ERR_ACTOR_UNKNOWN_TYPE', type)
  return kind
}

/** Whether activating `type` would look for a snapshot. */
const restores = (type: string): boolean => env.kinds.get(type)?.logic.restore !== undefined
/** Whether any hosted type has durable state (set with the actor types). */
let anyRestores = false

/**
 * Snapshots of the actors these envelopes would activate, for types with durable state: one round trip,
 * and none for actors of which no snapshot was ever taken or stored (the shared filter says so).
 */
async function loadFor(s: ShardState, refs: ActorRef[]): Promise<Map<string, Uint8Array>> {
  const unique = new Map<string, ActorRef>()
  for (const r of refs) {
    if (!restores(r.type) || activeIn(s, r.type, r.key) !== undefined) continue
    if (localSnapshot(s, r.type, r.key) === undefined && (env.snapshotIndex?.mayHave(r) ?? true))
      unique.set(refId(r.type, r.key), r)
  }
  return unique.size > 0 ? loadSnapshots([...unique.values()]) : new Map()
}

/** Snapshot loads asked for in the same turn of the event loop, waiting to go to the host as one. */
let loadsDue: { refs: ActorRef[]; result: Promise<Map<string, Uint8Array>> } | undefined

/**
 * Loads from the host, one round trip for every shard of a delivery task that asks in the same turn (a
 * `deliver-many` task starts its parts together). Each caller gets the whole answer and reads its own.
 */
function loadSnapshots(refs: ActorRef[]): Promise<Map<string, Uint8Array>> {
  if (loadsDue === undefined) {
    const due: ActorRef[] = []
    loadsDue = {
      refs: due,
      result: new Promise((resolve, reject) =>
        setImmediate(() => {
          loadsDue = undefined
          host.loadSnapshots(due).then(resolve, reject)
        }),
      ),
    }
  }
  loadsDue.refs.push(...refs)
  return loadsDue.result
}

/**
 * A snapshot taken here since the last flush (a passivation) is newer than anything the host has. It is
 * looked up at activation, not only before a load: the cap may passivate an actor of this shard while
 * the shard waits for a load.
 */
function localSnapshot(s: ShardState, type: string, key: string): Uint8Array | undefined {
  for (let i = s.snapshots.length - 1; i >= 0; i--) {
    const snap = s.snapshots[i]!
    if (snap.key === key && snap.type === type) return snap.data ?? undefined
  }
  return undefined
}

/** The activation of `(type, key)` in `s`, activated (from the freshest snapshot) when it is not. */
function activation(
  s: ShardState,
  type: string,
  key: string,
  loaded: Map<string, Uint8Array>,
): ReturnType<typeof activate> {
  const a = activeIn(s, type, key)
  if (a !== undefined) return a
  const kind = kindOf(type)
  const snapshot =
    kind.logic.restore === undefined
      ? undefined
      : (localSnapshot(s, type, key) ?? loaded.get(refId(type, key)))
  return activate(s, kind, key, snapshot)
}

/** Stamps the task's time once: turns read it instead of the clock. */
function tick(): void {
  env.clock = env.now()
}

async function deliverShard(task: ShardDelivery): Promise<DeliverResult> {
  const s = shardState(task.shard, task.base)
  return serial(s, async () => {
    tick()
    // Actors with durable state that are not active need their snapshots first, in one round trip: their
    // messages are decoded up front. Without such types each message is decoded as it is applied, so
    // few envelopes are alive at once.
    const decoded = anyRestores ? task.seqs.map((_, m) => decodeMessage(task, s, m)) : undefined
    const refs: ActorRef[] = []
    for (const envs of decoded ?? []) {
      for (const [type, key] of envs) {
        if (restores(type) && activeIn(s, type, key) === undefined) refs.push({ type, key })
      }
    }
    const snapshots = await loadFor(s, refs)
    const skip = new Set(task.skip)
    const deadLetters: DeadLetter[] = []
    let applied = 0
    let replayed = 0
    let poisoned = false
    outer: for (let m = 0; m < task.seqs.length; m++) {
      const seq = task.seqs[m]!
      if (seq <= s.lastSeq) {
        replayed++
        continue
      }
      const envs = decoded?.[m] ?? decodeMessage(task, s, m)
      for (let i = 0; i < envs.length; i++) {
        if (skip.size > 0 && skip.has(`${seq}:${i}`)) continue
        const [type, key, message] = envs[i]!
        try {
          turn(activation(s, type, key, snapshots), message)
          applied++
        } catch (e) {
          // The shard stops here; the host resets it and replays from its durable position without this
          // envelope, so no other message's effect is lost or applied twice.
          deadLetters.push({ shard: s.shard, seq, index: i, type, key, reason: reasonOf(e) })
          poisoned = true
          s.poisoned = true
          break outer
        }
      }
      s.lastSeq = seq
    }
    evict(env, init.maxActors, Math.min(1000, init.idleMs))
    return { kind: 'deliver', applied, replayed, deadLetters, poisoned }
  })
}

/** The envelopes of the task's m-th message; none for one the shard has applied already. */
function decodeMessage(task: ShardDelivery, s: ShardState, m: number): Envelope[] {
  return task.seqs[m]! > s.lastSeq
    ? decodeEnvelopes(task.data.subarray(task.ends[m - 1] ?? 0, task.ends[m]))
    : []
}

/** Every part's delivery, started together; one part's failure is its own, not the others'. */
async function deliver(task: DeliverTask): Promise<WorkerResult> {
  const results = await Promise.allSettled(
    task.parts.map(({ start, end, ...p }) => deliverShard({ ...p, data: task.data.subarray(start, end) })),
  )
  return {
    kind: 'deliver-many',
    results: packedMap(results, (r) =>
      r.status === 'fulfilled' ? r.value : { kind: 'failed', error: reasonOf(r.reason) },
    ),
  }
}

/** A result whose buffer moves to the host instead of being copied. */
function moving(result: FlushResult): WorkerResult {
  return move({
    [transferableSymbol]: [result.bytes.buffer],
    [valueSymbol]: result,
  }) as unknown as WorkerResult
}

/** A flush of a shard that has nothing to hand out (`upTo` -1: the host moves no position). */
function nothingOf(shard: number): WorkerResult {
  return {
    kind: 'flush',
    shard,
    upTo: -1,
    bytes: new Uint8Array(),
    drainedEnd: 0,
    snapshots: [],
    reminders: [],
    outbox: [],
    deadLetters: [],
    activeActors: 0,
  }
}

async function flush(task: FlushTask): Promise<WorkerResult> {
  const s = shards.get(task.shard)
  if (s === undefined) return nothingOf(task.shard)
  // Before the shard's turn: rows the encoder writes now must see what the host shared before this flush.
  // Only when behind: otherwise the flush queues behind the shard's turns at once, as every task does.
  if (shared.version < task.shared) await syncShared(task.shared)
  return serial(s, () => {
    // A flush that was on its way when a delivery poisoned the shard: the reset discards all of it.
    if (s.poisoned) return nothingOf(s.shard)
    const { drained, snapshots } = takeChanges(s)
    const bytes = new FlushBytes()
    const drainedEnd = Object.keys(drained).length === 0 ? 0 : bytes.add(encode(drained, shared.values))
    const records = layOut(bytes, snapshots, s.reminders.splice(0))
    return moving({
      kind: 'flush',
      shard: s.shard,
      upTo: s.lastSeq,
      bytes: bytes.finish(),
      drainedEnd,
      ...records,
      outbox: s.outbox.splice(0),
      deadLetters: s.deadLetters.splice(0),
      activeActors: s.size,
    })
  })
}

async function ask(task: AskTask): Promise<WorkerResult> {
  const s = shardState(task.shard, task.base)
  return serial(s, async () => {
    const logic = kindOf(task.type).logic
    if (logic.ask === undefined) throw new RuntimeError('RT_ERR_ACTOR_NO_ASK', task.type)
    const snapshots = await loadFor(s, [{ type: task.type, key: task.key }])
    tick()
    const a = activation(s, task.type, task.key, snapshots)
    a.lastUsed = env.clock
    return { kind: 'ask', reply: logic.ask(a.state, task.request, a) }
  })
}

/** Drops the shard's activations; `reset` starts it again at `base`, `drop` forgets it. */
async function reset(task: ResetTask | DropTask): Promise<WorkerResult> {
  const s = shards.get(task.shard)
  const clear = (): WorkerResult => {
    if (s !== undefined) for (const keys of s.byType.values()) for (const a of [...keys.values()]) dispose(a)
    if (task.kind === 'reset') shards.set(task.shard, newShard(env, task.shard, task.base))
    else shards.delete(task.shard)
    return { kind: task.kind }
  }
  return s === undefined ? clear() : serial(s, clear)
}

function passivateIdle(): void {
  tick()
  const horizon = env.clock - init.idleMs
  // The order is only roughly by last use (turns do not reorder), so every activation is looked at.
  for (const a of [...env.lru.values()]) {
    if (a.lastUsed <= horizon) void serial(a.shard, () => passivate(a))
  }
}

const controlApi: ControlApi = {
  setWatched: (topics) => {
    env.watched = new Set(topics)
  },
  listActors: (limit) =>
    [...env.lru.values()].slice(-limit).map((a) => ({
      type: a.type,
      key: a.key,
      shard: a.shard.shard,
      idleMs: env.now() - a.lastUsed,
      timers: [...(a.timers?.keys() ?? [])],
    })),
  inspect: (type, key) => {
    for (const s of shards.values()) {
      const a = activeIn(s, type, key)
      if (a !== undefined) {
        const logic = a.kind.logic
        return { state: logic.snapshot ? logic.snapshot(a.state) : a.state }
      }
    }
    return undefined
  },
  passivate: async (type, key) => {
    for (const s of shards.values()) {
      const a = activeIn(s, type, key)
      if (a !== undefined) {
        await serial(s, () => passivate(a))
        return true
      }
    }
    return false
  },
  stats: () => {
    const active: Record<string, number> = {}
    for (const a of env.lru) active[a.type] = (active[a.type] ?? 0) + 1
    const byType: WorkerStats['byType'] = {}
    for (const [type, k] of env.kinds) {
      // Types no message has reached yet are not shown, as before a first activation.
      if (k.stats.activations > 0) byType[type] = { ...k.stats, active: active[type] ?? 0 }
    }
    return {
      threadId,
      activeActors: env.lru.size,
      shards: shards.size,
      byType,
      ...env.counters,
      heapUsed: process.memoryUsage().heapUsed,
    }
  },
}

/** Connects this worker to its host: watched topics, the control plane, snapshot loads, idle passivation. */
function setUp(): void {
  if (isMainThread)
    throw new RuntimeError('RT_ERR_BAD_OPTION', 'createWorkerHandler runs in a worker thread only')
  init = workerData as WorkerInit
  env.snapshotIndex = new SnapshotIndex(init.snapshotIndex)
  // Two comlink channels: the host calls the control plane here; this worker calls the host for snapshots.
  const control = new MessageChannel()
  const hostChannel = new MessageChannel()
  control.port1.unref()
  hostChannel.port1.unref()
  host = Comlink.wrap<HostApi>(asEndpoint(hostChannel.port1))
  Comlink.expose(controlApi, asEndpoint(control.port2))
  const hello: WorkerEvent = {
    kind: 'hm-rt-hello',
    threadId,
    control: control.port1,
    host: hostChannel.port2,
  }
  parentPort?.postMessage(hello, [control.port1, hostChannel.port2])
  setInterval(passivateIdle, Math.max(50, Math.floor(init.idleMs / 4))).unref()
}

export interface WorkerHandlerOptions {
  /** How drained records become a batch's bytes; msgpack by default (`decodeDrained` reads it). */
  encodeDrained?: DrainEncoder
}

/**
 * The task handler of a worker thread hosting `actors`. A worker file default-exports its result, with
 * the actor definitions imported statically (worker threads load their imports the same way in tests
 * and in production; a dynamic import of actor modules would not).
 *
 * @example
 * // my-worker.ts
 * export default createWorkerHandler([counter])
 */
export function createWorkerHandler(
  actors: readonly ActorLogic[],
  options: WorkerHandlerOptions = {},
): (task: WorkerTask) => Promise<WorkerResult> {
  if (options.encodeDrained !== undefined) encode = options.encodeDrained
  for (const logic of actors) {
    if (env.kinds.has(logic.type))
      throw new RuntimeError('RT_ERR_BAD_OPTION', `actor type ${logic.type} twice`)
    env.kinds.set(logic.type, newKind(logic))
    if (logic.restore !== undefined) anyRestores = true
  }
  setUp()
  return (task) => {
    switch (task.kind) {
      case 'deliver':
        return deliver(task)
      case 'flush':
        return flush(task)
      case 'ask':
        return ask(task)
      case 'reset':
      case 'drop':
        return reset(task)
    }
  }
}
