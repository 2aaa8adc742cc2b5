import { Packr } from 'msgpackr'
import type { ActorContext, ActorLogic } from '../actor.ts'
import { decodeEnvelopes } from '../envelopes.ts'
import { RuntimeError } from '../errors.ts'
import { type ActorKey, actorKey } from '../ids.ts'
import type { DeadLetter, DeliverTask, FlushTask, WorkerResult, WorkerTask } from './types.ts'

interface Activation {
  logic: ActorLogic
  state: unknown
  ctx: ActorContext
}

interface ShardState {
  lastSeq: number
  actors: Map<string, Activation>
}

const packr = new Packr({ useRecords: false })
const shards = new Map<number, ShardState>()

function shardState(shard: number): ShardState {
  let s = shards.get(shard)
  if (s === undefined) {
    s = { lastSeq: 0, actors: new Map() }
    shards.set(shard, s)
  }
  return s
}

function activate(s: ShardState, types: Map<string, ActorLogic>, type: string, key: string): Activation {
  const id = `${type}\u0000${key}`
  let a = s.actors.get(id)
  if (a === undefined) {
    const logic = types.get(type)
    if (logic === undefined) throw new RuntimeError('RT_ERR_ACTOR_UNKNOWN_TYPE', type)
    const ctx: ActorContext = { type, key: actorKey(key) as ActorKey, now: Date.now }
    a = { logic, state: logic.initial(ctx.key, ctx), ctx }
    s.actors.set(id, a)
  }
  return a
}

function deliver(task: DeliverTask, types: Map<string, ActorLogic>): WorkerResult {
  const s = shardState(task.shard)
  const deadLetters: DeadLetter[] = []
  let applied = 0
  let replayed = 0
  for (let i = 0; i < task.seqs.length; i++) {
    const seq = task.seqs[i]!
    if (seq <= s.lastSeq) {
      replayed++
      continue
    }
    const envelopes = decodeEnvelopes(task.payloads[i]!)
    for (const [type, key, message] of envelopes) {
      try {
        const a = activate(s, types, type, key)
        a.state = a.logic.receive(a.state, message, a.ctx)
        applied++
      } catch (e) {
        // The turn is lost, not the worker: the message becomes a dead letter the host records.
        deadLetters.push({ seq, type, key, reason: e instanceof Error ? e.message : String(e) })
      }
    }
    s.lastSeq = seq
  }
  return { kind: 'deliver', applied, replayed, deadLetters }
}

function flush(task: FlushTask): WorkerResult {
  const s = shardState(task.shard)
  const drained: Record<string, unknown[]> = {}
  for (const a of s.actors.values()) {
    if (a.logic.drain === undefined) continue
    const out = a.logic.drain(a.state, a.ctx)
    if (out.length === 0) continue
    const list = drained[a.ctx.type]
    if (list === undefined) drained[a.ctx.type] = out
    else for (const d of out) list.push(d)
  }
  return {
    kind: 'flush',
    shard: task.shard,
    upTo: s.lastSeq,
    drained: packr.pack(drained),
    activeActors: s.actors.size,
  }
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
export function createWorkerHandler(actors: readonly ActorLogic[]): (task: WorkerTask) => WorkerResult {
  const types = new Map<string, ActorLogic>()
  for (const logic of actors) {
    if (types.has(logic.type)) throw new RuntimeError('RT_ERR_BAD_OPTION', `actor type ${logic.type} twice`)
    types.set(logic.type, logic)
  }
  return (task) => (task.kind === 'deliver' ? deliver(task, types) : flush(task))
}
