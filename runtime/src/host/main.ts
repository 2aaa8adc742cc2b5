import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { availableParallelism } from 'node:os'
import * as Comlink from 'comlink'
import { Packr } from 'msgpackr'
import { Piscina } from 'piscina'
import type { Envelope } from '../actor.ts'
import { asEndpoint } from '../comlink-endpoint.ts'
import { encodeEnvelopes } from '../envelopes.ts'
import { RuntimeError } from '../errors.ts'
import { type ShardId, type StreamSeq, shardId, shardOf, streamSeq } from '../ids.ts'
import {
  type ActorRef,
  MemoryRuntimeStore,
  type ReminderRecord,
  type RuntimeStore,
  refId,
  type SnapshotRecord,
} from '../store.ts'
import type { Delivery, ShardConsumer, Transport } from '../transport.ts'
import { HANDLER_BUCKETS } from './activations.ts'
import { readBack } from './flush-wire.ts'
import { ReminderSchedule } from './reminders.ts'
import type {
  ActorInfo,
  AskResult,
  ControlApi,
  DeadLetter,
  DeliverResult,
  FlushResult,
  HostApi,
  WorkerEvent,
  WorkerInit,
  WorkerStats,
  WorkerTask,
} from './types.ts'

/** What one shard's actors handed out at one flush, and the stream position it covers. */
export interface FlushBatch {
  shard: ShardId
  upTo: StreamSeq
  drained: Record<string, unknown[]>
}

/**
 * Where drained records become durable. `write` must store the batches and their positions together;
 * `positions` reads them back so a replay skips what is already stored.
 */
export interface FlushSink {
  positions(): Promise<Map<ShardId, StreamSeq>>
  write(batches: readonly FlushBatch[]): Promise<void>
}

export interface RuntimeHostOptions {
  transport: Transport
  sink: FlushSink
  /** Snapshots, reminders and dead letters; in memory by default (tests of other parts). */
  store?: RuntimeStore
  /** The worker module: its default export is `createWorkerHandler([...actor definitions])`. */
  workerFile: string | URL
  shardCount: number
  /** Shards this node owns; all of them by default (the embedded single node). */
  shards?: ShardId[]
  /** Worker threads; the number of cores by default. */
  threads?: number
  flushIntervalMs?: number
  /** Most stream messages in one task to a worker (the mailbox of a shard holds at most this many). */
  maxBatch?: number
  /** Unwritten flush batches kept while the sink fails; past it, shards stop pulling. */
  maxUnwrittenBatches?: number
  /** Activations per worker; past it the least recently used are passivated. */
  maxActorsPerWorker?: number
  /** Activations idle this long are passivated. */
  idlePassivateMs?: number
  askTimeoutMs?: number
  onError?: (error: unknown, context: string) => void
  onDeadLetter?: (letter: DeadLetter) => void
}

interface ResolvedOptions extends Required<Omit<RuntimeHostOptions, 'shards' | 'workerFile' | 'store'>> {
  shards: ShardId[]
  workerFile: string
  store: RuntimeStore
}

/** Stops watching a live topic; `ready` resolves once every worker publishes to it. */
export type Watch = (() => void) & { ready: Promise<void> }

/** Per actor type, summed over the workers: what the Prometheus endpoint shows. */
export interface RuntimeMetrics {
  byType: Record<
    string,
    {
      active: number
      activations: number
      passivations: number
      turns: number
      deadLetters: number
      handler: { buckets: number[]; sumSeconds: number; count: number }
    }
  >
  /** Upper bounds (seconds) of `handler.buckets`; one more bucket is +Inf. */
  handlerBuckets: number[]
  mailboxDepth: number
  deadLetters: number
  replays: number
  unwrittenBatches: number
}

export interface RuntimeStats {
  threads: number
  shards: number
  delivered: number
  applied: number
  replays: number
  deadLetters: number
  flushes: number
  flushFailures: number
  unwrittenBatches: number
  activeActors: number
  /** Messages pulled from the transport and not yet applied, over all shards. */
  mailboxDepth: number
}

interface ShardRun {
  shard: ShardId
  consumer: ShardConsumer
  /** Highest seq whose effect has left the worker (drained, maybe not written yet). */
  drainedUpTo: number
  /** Dead envelopes (`seq:index`) to skip when the shard is replayed. */
  skip: Set<string>
  /** The worker lost the shard's state (a handler threw, the worker died): replay from `drainedUpTo`. */
  needsReset: boolean
  inFlight: number
}

interface Unwritten extends FlushBatch {
  snapshots: SnapshotRecord[]
  reminders: ReminderRecord[]
  outbox: Envelope[]
}

const queueOptions = Piscina.queueOptionsSymbol

/** The payloads end to end in a buffer of their own, which can be transferred to a worker. */
function concat(deliveries: readonly Delivery[]): { data: Uint8Array; ends: number[] } {
  let size = 0
  for (const d of deliveries) size += d.data.byteLength
  const data = new Uint8Array(size)
  const ends: number[] = []
  let at = 0
  for (const d of deliveries) {
    data.set(d.data, at)
    at += d.data.byteLength
    ends.push(at)
  }
  return { data, ends }
}
type Routed<T> = T & { [queueOptions]: { shard: number } }

/**
 * Hosts the actors of a node: pulls each owned shard from the transport, hands batches to the worker
 * that owns the shard (Piscina `loadBalancer`), and every flush interval drains the workers, stores
 * snapshots, reminders and drained records, and only then acknowledges the transport. A handler that
 * throws, or a worker that dies, costs a replay of the shard from its durable position — never a lost
 * or doubled effect.
 */
export class RuntimeHost {
  private readonly options: ResolvedOptions
  private readonly pool: Piscina
  private readonly packr = new Packr({ useRecords: false })
  /** Worker slot of a shard is `shard % threads`; a slot holds the id of the worker serving it. */
  private readonly slots: Array<number | undefined>
  private readonly controls = new Map<number, Comlink.Remote<ControlApi>>()
  private readonly abort = new AbortController()
  private readonly runs = new Map<ShardId, ShardRun>()
  private readonly loops: Promise<void>[] = []
  private readonly watchers = new Map<string, Set<(payload: unknown) => void>>()
  private readonly reminders: ReminderSchedule
  private unwritten: Unwritten[] = []
  private readonly deadByType = new Map<string, number>()
  /** Settles when the workers have the latest set of watched topics. */
  private announced: Promise<void> = Promise.resolve()
  /** Dead letters not yet in the store. */
  private readonly deadLetterRecords: Array<DeadLetter & { at: number }> = []
  private readonly activeByShard = new Map<ShardId, number>()
  private flushTimer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private admissionWaiters: Array<() => void> = []
  private started = false
  private stopped = false
  private readonly counters = {
    delivered: 0,
    applied: 0,
    replays: 0,
    deadLetters: 0,
    flushes: 0,
    flushFailures: 0,
  }

  constructor(options: RuntimeHostOptions) {
    const threads = options.threads ?? availableParallelism()
    if (!Number.isInteger(threads) || threads < 1)
      throw new RuntimeError('RT_ERR_BAD_OPTION', `threads=${threads}`)
    if (!Number.isInteger(options.shardCount) || options.shardCount < 1 || options.shardCount > 65535) {
      throw new RuntimeError('RT_ERR_BAD_OPTION', `shardCount=${options.shardCount}`)
    }
    this.options = {
      transport: options.transport,
      sink: options.sink,
      store: options.store ?? new MemoryRuntimeStore(),
      workerFile: String(options.workerFile),
      shardCount: options.shardCount,
      shards: options.shards ?? Array.from({ length: options.shardCount }, (_, i) => shardId(i)),
      threads,
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      maxBatch: options.maxBatch ?? 256,
      maxUnwrittenBatches: options.maxUnwrittenBatches ?? options.shardCount * 30,
      maxActorsPerWorker: options.maxActorsPerWorker ?? 200_000,
      idlePassivateMs: options.idlePassivateMs ?? 10 * 60_000,
      askTimeoutMs: options.askTimeoutMs ?? 5000,
      onError: options.onError ?? ((e, where) => console.error(`[runtime] ${where}:`, e)),
      onDeadLetter: options.onDeadLetter ?? ((l) => console.error('[runtime] dead letter', l)),
    }
    this.slots = new Array<number | undefined>(threads).fill(undefined)
    // Every shard's pull waits on this one signal.
    setMaxListeners(this.options.shards.length + 10, this.abort.signal)
    this.reminders = new ReminderSchedule((r) => this.fireReminder(r))
    const init: WorkerInit = {
      maxActors: this.options.maxActorsPerWorker,
      idleMs: this.options.idlePassivateMs,
    }
    this.pool = new Piscina({
      filename: this.options.workerFile,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // 'sync' blocks a worker's event loop between tasks, which would starve its timers, the control
      // plane and snapshot loads; 'async' waits without blocking.
      atomics: 'async',
      // Every shard of a worker may have a task queued there; the per-shard loop keeps it to a few each.
      concurrentTasksPerWorker: Math.max(4, 4 * Math.ceil(this.options.shards.length / threads)),
      workerData: init,
      loadBalancer: (task, workers) => {
        const shard = (task as unknown as Record<symbol, { shard: number } | null>)[queueOptions]?.shard ?? 0
        const id = this.slots[shard % threads]
        // Not ready yet (start-up, or a replaced worker): the task waits in the pool's queue.
        return workers.find((w) => w.id === id && !w.terminating && !w.destroyed) ?? null
      },
    })
    this.pool.on('workerCreate', (w: { id: number }) => {
      const free = this.slots.indexOf(undefined)
      if (free >= 0) this.slots[free] = w.id
    })
    // A destroyed worker's id already reads -1: find the slots whose worker is no longer alive.
    this.pool.on('workerDestroy', () => {
      const alive = new Set(this.pool.threads.map((t) => t.threadId).filter((id) => id >= 0))
      for (const id of this.slots) if (id !== undefined && !alive.has(id)) this.onWorkerLost(id)
    })
    this.pool.on('message', (event: WorkerEvent) => this.onWorkerEvent(event))
    this.pool.on('error', (e: unknown) => this.options.onError(e, 'worker pool'))
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    // Every worker connected (control plane, snapshot loads) before the first message.
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.controls.size >= this.options.threads) resolve()
        else setTimeout(check, 5)
      }
      check()
    })
    const positions = await this.options.sink.positions()
    for (const r of await this.options.store.loadReminders(this.options.shards)) this.reminders.set(r)
    for (const shard of this.options.shards) {
      const durable = positions.get(shard) ?? 0
      const run: ShardRun = {
        shard,
        consumer: await this.options.transport.consumer(shard),
        drainedUpTo: durable,
        skip: new Set(),
        needsReset: false,
        inFlight: 0,
      }
      this.runs.set(shard, run)
      this.loops.push(this.pullLoop(run, durable))
    }
    this.scheduleFlush()
  }

  /** Stops pulling, lets in-flight tasks finish, flushes everything and closes the workers. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.abort.abort()
    for (const w of this.admissionWaiters.splice(0)) w()
    clearTimeout(this.flushTimer)
    this.reminders.clear()
    await Promise.all(this.loops)
    await this.flushing
    await this.flushNow()
    await this.pool.destroy()
    if (this.unwritten.length > 0) {
      this.options.onError(
        new Error(`${this.unwritten.length} flush batches not written; the transport will redeliver them`),
        'stop',
      )
    }
  }

  stats(): RuntimeStats {
    let activeActors = 0
    for (const n of this.activeByShard.values()) activeActors += n
    let mailboxDepth = 0
    for (const r of this.runs.values()) mailboxDepth += r.inFlight
    return {
      threads: this.options.threads,
      shards: this.options.shards.length,
      ...this.counters,
      unwrittenBatches: this.unwritten.length,
      activeActors,
      mailboxDepth,
    }
  }

  /** Runs a flush cycle now and waits for it; used at shutdown and by tests that read the store. */
  flushNow(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushCycle())
    return this.flushing
  }

  /** Sends a message to an actor through the transport (durable, location-transparent). */
  async tell(type: string, key: string, message: unknown): Promise<void> {
    if (this.stopped) throw new RuntimeError('RT_ERR_HOST_STOPPED')
    const shard = shardOf(type, key, this.options.shardCount)
    await this.options.transport.publish(
      shard,
      encodeEnvelopes([[type, key, message]]),
      `tell:${randomUUID()}`,
    )
  }

  /**
   * Asks an actor of this node a question (its `ask` handler). Answers after every message the worker
   * has applied before it; rejects with RT_ERR_ASK_TIMEOUT after `askTimeoutMs`.
   */
  async ask<R = unknown>(type: string, key: string, request: unknown): Promise<R> {
    if (this.stopped) throw new RuntimeError('RT_ERR_HOST_STOPPED')
    const shard = shardOf(type, key, this.options.shardCount)
    const run = this.runs.get(shard)
    if (run === undefined)
      throw new RuntimeError('RT_ERR_BAD_OPTION', `shard ${shard} is not owned by this node`)
    const task: Routed<WorkerTask> = {
      kind: 'ask',
      shard,
      base: run.drainedUpTo,
      type,
      key,
      request,
      [queueOptions]: { shard },
    }
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RuntimeError('RT_ERR_ASK_TIMEOUT', `${type}/${key}`)),
        this.options.askTimeoutMs,
      )
    })
    try {
      const result = (await Promise.race([this.pool.run(task), timeout])) as AskResult
      return result.reply as R
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * Watches a live topic: actors publish to it only while someone watches (`ctx.watched`). Returns the
   * function that stops watching; its `ready` resolves once every worker knows of the topic, so what
   * is applied from then on is published.
   */
  watch(topic: string, listener: (payload: unknown) => void): Watch {
    let set = this.watchers.get(topic)
    let ready: Promise<void> = Promise.resolve()
    if (set === undefined) {
      set = new Set()
      this.watchers.set(topic, set)
      ready = this.announceTopics()
    } else ready = this.announced
    set.add(listener)
    const stop = (): void => {
      const s = this.watchers.get(topic)
      if (s === undefined || !s.delete(listener) || s.size > 0) return
      this.watchers.delete(topic)
      void this.announceTopics()
    }
    return Object.assign(stop, { ready })
  }

  /** Metrics per actor type over every worker (handler times are sampled turns). */
  async metrics(): Promise<RuntimeMetrics> {
    const byType: RuntimeMetrics['byType'] = {}
    for (const w of await this.workerStats()) {
      for (const [type, t] of Object.entries(w.byType)) {
        const m = byType[type] ?? {
          active: 0,
          activations: 0,
          passivations: 0,
          turns: 0,
          deadLetters: this.deadByType.get(type) ?? 0,
          handler: {
            buckets: new Array<number>(HANDLER_BUCKETS.length + 1).fill(0),
            sumSeconds: 0,
            count: 0,
          },
        }
        byType[type] = m
        m.active += t.active
        m.activations += t.activations
        m.passivations += t.passivations
        m.turns += t.turns
        t.buckets.forEach((n, i) => {
          m.handler.buckets[i]! += n
        })
        m.handler.sumSeconds += t.sumSeconds
        m.handler.count += t.timed
      }
    }
    const stats = this.stats()
    return {
      byType,
      handlerBuckets: HANDLER_BUCKETS,
      mailboxDepth: stats.mailboxDepth,
      deadLetters: stats.deadLetters,
      replays: stats.replays,
      unwrittenBatches: stats.unwrittenBatches,
    }
  }

  /** The control plane: what each worker holds. */
  async workerStats(): Promise<WorkerStats[]> {
    return Promise.all([...this.controls.values()].map((c) => c.stats()))
  }

  async listActors(limit = 100): Promise<ActorInfo[]> {
    const lists = await Promise.all([...this.controls.values()].map((c) => c.listActors(limit)))
    return lists.flat().slice(0, limit)
  }

  /** The state of an active actor (its durable part where it has one); undefined when not active. */
  async inspect(type: string, key: string): Promise<unknown> {
    const control = this.controlOf(type, key)
    return (await control?.inspect(type, key))?.state
  }

  /** Passivates an active actor now (its snapshot goes out with the next flush). */
  async passivate(type: string, key: string): Promise<boolean> {
    return (await this.controlOf(type, key)?.passivate(type, key)) ?? false
  }

  /** Dead letters kept in the runtime store, newest first. */
  deadLetters(limit = 100): ReturnType<RuntimeStore['deadLetters']> {
    return this.options.store.deadLetters(limit)
  }

  private controlOf(type: string, key: string): Comlink.Remote<ControlApi> | undefined {
    const shard = shardOf(type, key, this.options.shardCount)
    const id = this.slots[shard % this.options.threads]
    return id === undefined ? undefined : this.controls.get(id)
  }

  /** Tells every worker the watched topics; resolves when all have them. */
  private announceTopics(): Promise<void> {
    const topics = [...this.watchers.keys()]
    this.announced = Promise.all(
      [...this.controls.values()].map((c) =>
        c.setWatched(topics).catch((e: unknown) => this.options.onError(e, 'announce watched topics')),
      ),
    ).then(() => {})
    return this.announced
  }

  private onWorkerEvent(event: WorkerEvent): void {
    if (event.kind === 'hm-rt-publish') {
      for (const l of this.watchers.get(event.topic) ?? []) {
        try {
          l(event.payload)
        } catch (e) {
          this.options.onError(e, `watcher of ${event.topic}`)
        }
      }
      return
    }
    // hello: wire the control plane and the snapshot loads, and tell the new worker what is watched.
    this.controls.set(event.threadId, Comlink.wrap<ControlApi>(asEndpoint(event.control)))
    event.control.unref()
    const api: HostApi = { loadSnapshots: (refs) => this.loadSnapshots(refs) }
    Comlink.expose(api, asEndpoint(event.host))
    event.host.unref()
    void this.announceTopics()
  }

  /** Snapshots not yet written are served from the unwritten batches, so a replay never reads stale state. */
  private async loadSnapshots(refs: ActorRef[]): Promise<Map<string, Uint8Array>> {
    const pending = new Map<string, Uint8Array | null>()
    for (const u of this.unwritten) for (const s of u.snapshots) pending.set(refId(s.type, s.key), s.data)
    const fromStore = refs.filter((r) => !pending.has(refId(r.type, r.key)))
    const out = await this.options.store.loadSnapshots(fromStore)
    for (const r of refs) {
      const p = pending.get(refId(r.type, r.key))
      if (p) out.set(refId(r.type, r.key), p)
    }
    return out
  }

  private onWorkerLost(id: number): void {
    const slot = this.slots.indexOf(id)
    if (slot < 0) return
    this.slots[slot] = undefined
    this.controls.delete(id)
    if (this.stopped) return
    // Every shard of that worker lost its unflushed state: replay each from what has left the worker.
    for (const run of this.runs.values()) if (run.shard % this.options.threads === slot) run.needsReset = true
    this.options.onError(
      new Error(`worker ${id} exited; its shards replay from their durable positions`),
      'worker',
    )
  }

  private async resetShard(run: ShardRun): Promise<void> {
    run.needsReset = false
    run.consumer.rewind(streamSeq(run.drainedUpTo))
    this.counters.replays++
    const task: Routed<WorkerTask> = {
      kind: 'reset',
      shard: run.shard,
      base: run.drainedUpTo,
      [queueOptions]: { shard: run.shard },
    }
    await this.pool.run(task)
  }

  private async pullLoop(run: ShardRun, durable: number): Promise<void> {
    const { signal } = this.abort
    const { consumer, shard } = run
    while (!signal.aborted) {
      if (this.unwritten.length >= this.options.maxUnwrittenBatches) {
        await new Promise<void>((resolve) => this.admissionWaiters.push(resolve))
        continue
      }
      let batch: Delivery[]
      try {
        if (run.needsReset) await this.resetShard(run)
        batch = await consumer.pull(this.options.maxBatch, signal)
      } catch (e) {
        if (signal.aborted) return
        this.options.onError(e, `pull shard ${shard}`)
        await new Promise((r) => setTimeout(r, 200))
        continue
      }
      if (batch.length === 0) continue
      const last = batch[batch.length - 1]!.seq
      const fresh = batch.filter((d) => d.seq > durable)
      if (fresh.length === 0) {
        // Already in the store from before a restart: nothing to apply, only to acknowledge.
        await consumer.ack(last).catch((e: unknown) => this.options.onError(e, `ack shard ${shard}`))
        continue
      }
      const { data, ends } = concat(fresh)
      const task: Routed<WorkerTask> = {
        kind: 'deliver',
        shard,
        base: run.drainedUpTo,
        seqs: fresh.map((d) => d.seq),
        data,
        ends,
        skip: [...run.skip],
        [queueOptions]: { shard },
      }
      run.inFlight = fresh.length
      try {
        const result = (await this.pool.run(task, {
          transferList: [data.buffer as ArrayBuffer],
        })) as DeliverResult
        this.counters.delivered += fresh.length
        this.counters.applied += result.applied
        for (const l of result.deadLetters) {
          run.skip.add(`${l.seq}:${l.index}`)
          this.recordDeadLetter(l)
        }
        if (result.poisoned) run.needsReset = true
      } catch (e) {
        // The worker died under the task (or the pool is closing): replay the shard on a fresh worker.
        if (signal.aborted) return
        this.options.onError(e, `deliver shard ${shard}`)
        run.needsReset = true
      } finally {
        run.inFlight = 0
      }
    }
  }

  private recordDeadLetter(l: DeadLetter): void {
    this.counters.deadLetters++
    this.deadByType.set(l.type, (this.deadByType.get(l.type) ?? 0) + 1)
    this.options.onDeadLetter(l)
    this.deadLetterRecords.push({ ...l, at: Date.now() })
  }

  private scheduleFlush(): void {
    if (this.stopped) return
    this.flushTimer = setTimeout(() => {
      void this.flushNow().finally(() => this.scheduleFlush())
    }, this.options.flushIntervalMs)
  }

  private async flushCycle(): Promise<void> {
    const runs = [...this.runs.values()].filter((r) => !r.needsReset)
    const results = await Promise.all(
      runs.map(async (run) => {
        const task: Routed<WorkerTask> = {
          kind: 'flush',
          shard: run.shard,
          base: run.drainedUpTo,
          [queueOptions]: { shard: run.shard },
        }
        try {
          return (await this.pool.run(task)) as FlushResult
        } catch (e) {
          this.options.onError(e, `flush shard ${run.shard}`)
          return undefined
        }
      }),
    )
    for (const r of results) {
      if (r === undefined || r.upTo < 0) continue
      const run = this.runs.get(shardId(r.shard))!
      this.activeByShard.set(run.shard, r.activeActors)
      for (const l of r.deadLetters) this.recordDeadLetter(l)
      const drained = this.packr.unpack(r.bytes.subarray(0, r.drainedEnd)) as Record<string, unknown[]>
      const empty =
        Object.keys(drained).length === 0 &&
        r.snapshots.length + r.reminders.length + r.outbox.length + r.deadLetters.length === 0 &&
        r.upTo <= run.drainedUpTo
      if (empty) continue
      run.drainedUpTo = Math.max(run.drainedUpTo, r.upTo)
      // A dead envelope at or below what has left the worker is never replayed again: forget it.
      for (const id of run.skip)
        if (Number(id.slice(0, id.indexOf(':'))) <= run.drainedUpTo) run.skip.delete(id)
      this.unwritten.push({
        shard: run.shard,
        upTo: streamSeq(r.upTo),
        drained,
        ...readBack(r),
        outbox: r.outbox,
      })
    }
    if (this.unwritten.length === 0 && this.deadLetterRecords.length === 0) return
    const batches = this.unwritten
    const letters = this.deadLetterRecords.splice(0)
    try {
      await this.writeBatches(batches, letters)
    } catch (e) {
      this.deadLetterRecords.unshift(...letters)
      this.counters.flushFailures++
      this.options.onError(e, 'flush write (kept, retried next interval)')
      return
    }
    this.unwritten = this.unwritten.slice(batches.length)
    this.counters.flushes++
    for (const w of this.admissionWaiters.splice(0)) w()
    const acked = new Map<ShardId, number>()
    for (const b of batches) acked.set(b.shard, Math.max(acked.get(b.shard) ?? 0, b.upTo))
    await Promise.all(
      [...acked].map(([shard, upTo]) =>
        this.runs
          .get(shard)
          ?.consumer.ack(streamSeq(upTo))
          .catch((e: unknown) => this.options.onError(e, `ack shard ${shard}`)),
      ),
    )
  }

  /**
   * Order matters: messages to other actors are stored in the transport and runtime state in the store
   * before the sink records the positions; a crash in between replays, and replays are idempotent.
   */
  private async writeBatches(
    batches: Unwritten[],
    letters: Array<DeadLetter & { at: number }>,
  ): Promise<void> {
    const outbox: Array<{ shard: number; upTo: number; envelopes: Envelope[] }> = []
    for (const b of batches)
      if (b.outbox.length > 0) outbox.push({ shard: b.shard, upTo: b.upTo, envelopes: b.outbox })
    await Promise.all(
      outbox.flatMap(({ shard, upTo, envelopes }) =>
        envelopes.map((env, i) =>
          this.options.transport.publish(
            shardOf(env[0], env[1], this.options.shardCount),
            encodeEnvelopes([env]),
            `out:${shard}:${upTo}:${i}`,
          ),
        ),
      ),
    )
    const reminders = batches.flatMap((b) => b.reminders)
    await this.options.store.save({
      snapshots: batches.flatMap((b) => b.snapshots),
      // Fired cancellations first: an actor that set the same reminder again since must win.
      reminders: [...this.reminders.takeFired(), ...reminders],
      deadLetters: letters.map((l) => ({
        shard: l.shard,
        seq: l.seq,
        type: l.type,
        key: l.key,
        reason: l.reason,
        at: l.at,
      })),
    })
    for (const r of reminders) this.reminders.set(r)
    await this.options.sink.write(batches.map(({ shard, upTo, drained }) => ({ shard, upTo, drained })))
  }

  private fireReminder(r: {
    type: string
    key: string
    name: string
    at: number
    message: Uint8Array
  }): void {
    const shard = shardOf(r.type, r.key, this.options.shardCount)
    const message = this.packr.unpack(r.message)
    this.options.transport
      .publish(
        shard,
        encodeEnvelopes([[r.type, r.key, message]]),
        `rem:${refId(r.type, r.key)}:${r.name}:${r.at}`,
      )
      .catch((e: unknown) => {
        this.options.onError(e, `reminder ${r.type}/${r.key}/${r.name}`)
        // Try again shortly; the reminder stays persisted until it has fired.
        this.reminders.set({ ...r, shard, at: Date.now() + 1000 })
      })
  }
}
