/** Messages between the runtime host (main thread) and its workers (`main.ts` ⇄ `worker.ts`). */

export interface DeliverTask {
  kind: 'deliver'
  shard: number
  seqs: number[]
  /** One msgpackr-encoded `Envelope[]` per stream message, in the order of `seqs`. */
  payloads: Uint8Array[]
}

export interface FlushTask {
  kind: 'flush'
  shard: number
}

export type WorkerTask = DeliverTask | FlushTask

export interface DeadLetter {
  seq: number
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
}

export interface FlushResult {
  kind: 'flush'
  shard: number
  /** Highest seq whose effect is contained in `drained`. */
  upTo: number
  /** msgpackr-encoded `Record<actorType, unknown[]>`. */
  drained: Uint8Array
  activeActors: number
}

export type WorkerResult = DeliverResult | FlushResult
