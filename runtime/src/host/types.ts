/** Messages between the runtime host (main thread) and its workers (`main.ts` ⇄ `worker.ts`). */

import type { MessagePort } from 'node:worker_threads'
import type { Envelope } from '../actor.ts'
import type { ActorRef, ReminderRecord, SnapshotRecord } from '../store.ts'

/** What every worker gets at start (Piscina `workerData`). */
export interface WorkerInit {
  /** Most activations a worker keeps; past it the least recently used are passivated. */
  maxActors: number
  /** Activations idle this long are passivated. */
  idleMs: number
  /** The node's snapshot filter (`SnapshotIndex`), shared with the host. */
  snapshotIndex: SharedArrayBuffer
}

interface ShardTask {
  shard: number
  /** The shard's durable position: a worker that does not know the shard yet starts from it. */
  base: number
}

/** One shard's messages for its worker: a part of a `DeliverTask`. */
export interface ShardDelivery extends ShardTask {
  seqs: number[]
  /** The stream messages' payloads (each a msgpackr-encoded `Envelope[]`) end to end, in the order of `seqs`. */
  data: Uint8Array
  /** Message `i` ends at `ends[i]` of `data`. */
  ends: number[]
  /** Envelopes already dead-lettered (`seq:index`), skipped when the shard is replayed. */
  skip: string[]
}

/**
 * The deliveries of several shards of one worker, sent as one task: with many shards each pulling a few
 * messages at a time, a task per shard cost the main thread more in messaging than the work it carried.
 * Each part is handled as its own `ShardDelivery` (in order per shard, concurrently across shards) over
 * `data.subarray(start, end)`; every payload of the task is in the one buffer, transferred rather than
 * cloned (a transfer costs more than copying a few hundred bytes, so one per task). `shard` routes it.
 */
export interface DeliverTask extends ShardTask {
  kind: 'deliver'
  data: Uint8Array
  parts: Array<Omit<ShardDelivery, 'data'> & { start: number; end: number }>
}

export interface FlushTask extends ShardTask {
  kind: 'flush'
  /** Version of the host's shared values (`RuntimeHost.share`): a worker behind it fetches them first. */
  shared: number
}

export interface AskTask extends ShardTask {
  kind: 'ask'
  type: string
  key: string
  request: unknown
}

/** Drops every activation of the shard and restarts it at `base` (before a replay). */
export interface ResetTask extends ShardTask {
  kind: 'reset'
}

/** Drops every activation of the shard and forgets it (the shard moved to another node). */
export interface DropTask extends ShardTask {
  kind: 'drop'
}

export type WorkerTask = DeliverTask | FlushTask | AskTask | ResetTask | DropTask

export interface DeadLetter {
  shard: number
  seq: number
  /** Index of the envelope inside the stream message; -1 for a timer's turn. */
  index: number
  type: string
  key: string
  reason: string
}

export interface DeliverResult {
  kind: 'deliver'
  applied: number
  /** Messages at or below the shard's last applied seq: already in this worker's state. */
  replayed: number
  deadLetters: DeadLetter[]
  /** Set when a handler threw: the shard stopped at this message and must be replayed without it. */
  poisoned: boolean
}

/** A `DeliverTask`'s results, one per part in its order (a part that failed carries its error). */
export interface DeliverManyResult {
  kind: 'deliver-many'
  results: Array<DeliverResult | { kind: 'failed'; error: string }>
}

export interface FlushResult {
  kind: 'flush'
  shard: number
  /** Highest seq whose effect is contained in what follows; -1 when the worker has nothing of the shard. */
  upTo: number
  /**
   * Every byte of the result, transferred in one buffer (see `flush-wire.ts`): first the drained records
   * as the worker's drain encoder wrote them, up to `drainedEnd` (0: nothing drained), then the snapshots' data and
   * the reminders' messages in order, each ending at its `end`.
   */
  bytes: Uint8Array
  drainedEnd: number
  /** `end: null` for a deletion. */
  snapshots: Array<Omit<SnapshotRecord, 'data'> & { end: number | null }>
  reminders: Array<Omit<ReminderRecord, 'message'> & { end: number }>
  /** Messages the turns sent to other actors since the last flush. */
  outbox: Envelope[]
  deadLetters: DeadLetter[]
  activeActors: number
}

export interface AskResult {
  kind: 'ask'
  reply: unknown
}

export interface ResetResult {
  kind: 'reset' | 'drop'
}

export type WorkerResult = DeliverResult | DeliverManyResult | FlushResult | AskResult | ResetResult

/** What a worker may call on the host (comlink, worker → main). */
export interface HostApi {
  loadSnapshots(refs: ActorRef[]): Promise<Map<string, Uint8Array>>
  /** The shared values and their version. */
  shared(): { version: number; values: Map<string, unknown> }
}

export interface ActorInfo {
  type: string
  key: string
  shard: number
  idleMs: number
  timers: string[]
}

/** What a worker counts per actor type. */
export interface TypeStats {
  activations: number
  passivations: number
  turns: number
  /** Sampled handler times per bucket of `HANDLER_BUCKETS`, plus one for +Inf. */
  buckets: number[]
  sumSeconds: number
  timed: number
}

export interface WorkerStats {
  threadId: number
  activeActors: number
  shards: number
  byType: Record<string, TypeStats & { active: number }>
  activations: number
  passivations: number
  heapUsed: number
}

/** The control plane (comlink, main → worker). */
export interface ControlApi {
  /** The topics someone watches now (the whole set, replacing the previous one). */
  setWatched(topics: string[]): void
  listActors(limit: number): ActorInfo[]
  inspect(type: string, key: string): { state: unknown } | undefined
  passivate(type: string, key: string): Promise<boolean>
  stats(): WorkerStats
}

/** Posted by a worker to the host (Piscina's `message` event). */
export type WorkerEvent =
  | { kind: 'hm-rt-hello'; threadId: number; control: MessagePort; host: MessagePort }
  | { kind: 'hm-rt-publish'; topic: string; payload: unknown }
