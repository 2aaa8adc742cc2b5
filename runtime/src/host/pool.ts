import * as Comlink from 'comlink'
import { Piscina } from 'piscina'
import { asEndpoint } from '../comlink-endpoint.ts'
import { packedMap } from '../packed.ts'
import type { ResolvedOptions } from './options.ts'
import type {
  ControlApi,
  DeliverManyResult,
  DeliverResult,
  DeliverTask,
  HostApi,
  ShardDelivery,
  WorkerEvent,
  WorkerInit,
  WorkerResult,
  WorkerTask,
} from './types.ts'

/**
 * Least time between two delivery tasks to one worker, ms. A task is a message to the worker and a result
 * back, each waking a thread, and on a loaded two-core machine that cost the host more than what the task
 * carried: under the ingest bench it sent 500 tasks a second of six shard parts each, and posting them
 * took 11% of its thread's time (V8 profile; wall time, as a post that wakes the worker may give it the
 * core). A worker that finishes sooner gets its next task this long after the last one left, with every
 * part handed in meanwhile: 200 tasks a second, 5.8%, and the shards' pull loops ran less often too (7.5%
 * of the thread to 2.2%). A quiet worker gets a part at once, unless its last task left less than this long
 * ago: then when the gap has passed. The live views coalesce to 200 ms, far above the wait.
 */
export const DELIVERY_GAP_MS = 4

/** A worker slot's deliveries: whether a task is out (or about to leave), and the parts waiting. */
interface DeliveryQueue {
  inFlight: boolean
  waiting: Waiting[]
  /** When the last task left (`performance.now()`). */
  sentAt: number
}

/** A shard's delivery as the host hands it in: its messages' payloads, in order. */
export type Part = Omit<ShardDelivery, 'data' | 'ends'> & { payloads: readonly Uint8Array[] }
interface Waiting {
  part: Part
  resolve: (r: DeliverResult) => void
  reject: (e: unknown) => void
}

const queueOptions = Piscina.queueOptionsSymbol

export interface WorkerPoolEvents {
  /** What the workers may call on the host (snapshot loads). */
  host: HostApi
  /** A worker connected: its control plane is ready. */
  onHello(): void
  /** An actor published to a live topic. */
  onPublish(topic: string, payload: unknown): void
  /** The worker of `slot` is gone; its shards lost their state in memory. */
  onLost(slot: number, threadId: number): void
}

/**
 * The node's worker threads: a fixed Piscina pool in which every shard is pinned to one worker (slot
 * `shard % threads`) through Piscina's `loadBalancer`, plus each worker's control plane (comlink).
 */
export class WorkerPool {
  private readonly piscina: Piscina
  /** A slot holds the thread id of the worker serving it. */
  private readonly slots: Array<number | undefined>
  /** Control planes by thread id. */
  readonly controls = new Map<number, Comlink.Remote<ControlApi>>()
  /** Per slot: deliveries waiting for the slot's delivery task in flight to end. */
  private readonly deliveries = new Map<number, DeliveryQueue>()
  private closing = false

  constructor(
    private readonly options: ResolvedOptions,
    private readonly events: WorkerPoolEvents,
    snapshotIndex: SharedArrayBuffer,
  ) {
    const threads = options.threads
    this.slots = new Array<number | undefined>(threads).fill(undefined)
    const init: WorkerInit = {
      maxActors: options.maxActorsPerWorker,
      idleMs: options.idlePassivateMs,
      snapshotIndex,
    }
    this.piscina = new Piscina({
      filename: options.workerFile,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // 'sync' blocks a worker's event loop between tasks, which would starve its timers, the control
      // plane and snapshot loads; 'async' waits without blocking.
      atomics: 'async',
      // Every shard of a worker may have a task queued there; the per-shard loop keeps it to a few each.
      concurrentTasksPerWorker: Math.max(4, 4 * Math.ceil(options.shardCount / threads)),
      workerData: init,
      loadBalancer: (task, workers) => {
        const shard = (task as unknown as Record<symbol, { shard: number } | null>)[queueOptions]?.shard ?? 0
        const id = this.slots[shard % threads]
        // Not ready yet (start-up, or a replaced worker): the task waits in the pool's queue.
        return workers.find((w) => w.id === id && !w.terminating && !w.destroyed) ?? null
      },
    })
    this.piscina.on('workerCreate', (w: { id: number }) => {
      const free = this.slots.indexOf(undefined)
      if (free >= 0) this.slots[free] = w.id
    })
    // A destroyed worker's id already reads -1: find the slots whose worker is no longer alive.
    this.piscina.on('workerDestroy', () => {
      const alive = new Set(this.piscina.threads.map((t) => t.threadId).filter((id) => id >= 0))
      for (const id of this.slots) if (id !== undefined && !alive.has(id)) this.lost(id)
    })
    this.piscina.on('message', (event: WorkerEvent) => this.onWorkerEvent(event))
    this.piscina.on('error', (e: unknown) => options.onError(e, 'worker pool'))
  }

  /** Resolves once every worker has connected its control plane. */
  ready(): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.controls.size >= this.options.threads) resolve()
        else setTimeout(check, 5)
      }
      check()
    })
  }

  /** Runs `task` on the worker of its shard; `transferList` moves buffers instead of copying them. */
  run<R extends WorkerResult>(task: WorkerTask, transferList?: ArrayBuffer[]): Promise<R> {
    const routed = { ...task, [queueOptions]: { shard: task.shard } }
    return this.piscina.run(routed, transferList ? { transferList } : {}) as Promise<R>
  }

  /**
   * Delivers a shard's messages to its worker. A slot has one delivery task in flight at a time; what the
   * other shards of the slot hand in meanwhile goes in the next task, together, so the busier the node
   * the more each task carries (and nothing waits when it is quiet).
   */
  deliver(part: Part): Promise<DeliverResult> {
    const slot = this.slotOf(part.shard)
    let q = this.deliveries.get(slot)
    if (q === undefined) {
      q = { inFlight: false, waiting: [], sentAt: 0 }
      this.deliveries.set(slot, q)
    }
    const queue = q
    const result = new Promise<DeliverResult>((resolve, reject) =>
      queue.waiting.push({ part, resolve, reject }),
    )
    if (!queue.inFlight) {
      // A task is about to leave: at once, or when the gap since the slot's last task has passed.
      queue.inFlight = true
      this.sendNext(queue)
    }
    return result
  }

  private sendDeliveries(q: DeliveryQueue): void {
    const batch = q.waiting.splice(0)
    q.inFlight = batch.length > 0
    if (batch.length === 0) return
    q.sentAt = performance.now()
    let size = 0
    for (const w of batch) for (const p of w.part.payloads) size += p.byteLength
    const data = new Uint8Array(size)
    let at = 0
    const parts = packedMap(batch, ({ part: { payloads, ...part } }) => {
      const start = at
      const ends: number[] = []
      for (const p of payloads) {
        data.set(p, at)
        at += p.byteLength
        ends.push(at - start)
      }
      return { ...part, ends, start, end: at }
    })
    const task: DeliverTask = { kind: 'deliver', shard: batch[0]!.part.shard, base: 0, data, parts }
    this.run<DeliverManyResult>(task, [data.buffer as ArrayBuffer])
      .then(
        ({ results }) => {
          for (const [i, r] of results.entries()) {
            if (r.kind === 'failed') batch[i]!.reject(new Error(r.error))
            else batch[i]!.resolve(r)
          }
        },
        (e: unknown) => {
          for (const w of batch) w.reject(e)
        },
      )
      .finally(() => this.sendNext(q))
  }

  /**
   * The slot's next task, after a task or for a part handed to a quiet slot: what waits leaves together,
   * `DELIVERY_GAP_MS` after the last task left (at once when that has passed). Nothing waiting: the slot is quiet.
   */
  private sendNext(q: DeliveryQueue): void {
    const wait = q.sentAt + DELIVERY_GAP_MS - performance.now()
    if (q.waiting.length === 0 || wait <= 0) this.sendDeliveries(q)
    // A timer counts whole milliseconds from a clock cut to the millisecond: one of 3.7 ms can fire after
    // 2.2 ms. The gap is measured again when it fires.
    else setTimeout(() => this.sendNext(q), wait).unref()
  }

  /** The control plane of the worker serving `shard`, when it is connected. */
  controlOf(shard: number): Comlink.Remote<ControlApi> | undefined {
    const id = this.slots[shard % this.options.threads]
    return id === undefined ? undefined : this.controls.get(id)
  }

  slotOf(shard: number): number {
    return shard % this.options.threads
  }

  /** The slot a worker serves (-1 for one that serves none, being replaced). */
  slotOfThread(threadId: number): number {
    return this.slots.indexOf(threadId)
  }

  async destroy(): Promise<void> {
    this.closing = true
    await this.piscina.destroy()
  }

  private lost(id: number): void {
    const slot = this.slots.indexOf(id)
    if (slot < 0) return
    this.slots[slot] = undefined
    this.controls.delete(id)
    if (!this.closing) this.events.onLost(slot, id)
  }

  private onWorkerEvent(event: WorkerEvent): void {
    if (event.kind === 'hm-rt-publish') {
      this.events.onPublish(event.topic, event.payload)
      return
    }
    // hello: wire the control plane and the snapshot loads.
    this.controls.set(event.threadId, Comlink.wrap<ControlApi>(asEndpoint(event.control)))
    event.control.unref()
    Comlink.expose(this.events.host, asEndpoint(event.host))
    event.host.unref()
    this.events.onHello()
  }
}
