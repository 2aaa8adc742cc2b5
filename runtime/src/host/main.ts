import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { Packr } from 'msgpackr'
import { encodeEnvelopes } from '../envelopes.ts'
import { RuntimeError } from '../errors.ts'
import { type ShardId, shardOf, streamSeq } from '../ids.ts'
import { packedMap } from '../packed.ts'
import { type RuntimeStore, refId } from '../store.ts'
import type { Delivery } from '../transport.ts'
import { HANDLER_BUCKETS } from './activations.ts'
import { Flusher, type FlushHost, type ShardRun } from './flush.ts'
import {
  type ResolvedOptions,
  type RuntimeHostOptions,
  type RuntimeMetrics,
  type RuntimeStats,
  resolveOptions,
  type Watch,
} from './options.ts'
import { WorkerPool } from './pool.ts'
import { ReminderSchedule } from './reminders.ts'
import { SnapshotIndex } from './snapshot-index.ts'
import type { ActorInfo, AskResult, DeadLetter, WorkerStats } from './types.ts'

export type {
  FlushBatch,
  FlushSink,
  RuntimeHostOptions,
  RuntimeMetrics,
  RuntimeStats,
  Watch,
} from './options.ts'

/**
 * Hosts the actors of a node: pulls each owned shard from the transport, hands batches to the worker
 * that owns the shard, and every flush interval drains the workers, stores snapshots, reminders and
 * drained records, and only then acknowledges the transport. A handler that throws, or a worker that
 * dies, costs a replay of the shard from its durable position — never a lost or doubled effect. Shards
 * can be given and taken while it runs (`addShard`, `removeShard`): how a cluster moves them.
 */
export class RuntimeHost implements FlushHost {
  readonly options: ResolvedOptions
  readonly pool: WorkerPool
  readonly reminders: ReminderSchedule
  readonly runs = new Map<ShardId, ShardRun>()
  readonly snapshotIndex = new SnapshotIndex()
  private readonly flusher: Flusher
  private readonly packr = new Packr({ useRecords: false })
  private readonly abort = new AbortController()
  private readonly watchers = new Map<string, Set<(payload: unknown) => void>>()
  private readonly deadByType = new Map<string, number>()
  private readonly shared = new Map<string, unknown>()
  private sharedChanges = 0
  /** Settles when the workers have the latest set of watched topics. */
  private announced: Promise<void> = Promise.resolve()
  private flushTimer: NodeJS.Timeout | undefined
  private flushing: Promise<boolean> = Promise.resolve(true)
  private started = false
  private stopped = false
  private readonly counters = { delivered: 0, applied: 0, replays: 0, deadLetters: 0 }

  constructor(options: RuntimeHostOptions) {
    this.options = resolveOptions(options)
    // Every shard's pull waits on the host's signal.
    setMaxListeners(this.options.shardCount + 10, this.abort.signal)
    this.reminders = new ReminderSchedule((r) => this.fireReminder(r))
    this.flusher = new Flusher(this)
    this.pool = new WorkerPool(
      this.options,
      {
        host: {
          loadSnapshots: (refs) => this.flusher.loadSnapshots(refs),
          shared: () => ({ version: this.sharedChanges, values: new Map(this.shared) }),
        },
        // Tell a new worker what is watched.
        onHello: () => void this.announceTopics(),
        onPublish: (topic, payload) => this.dispatch(topic, payload),
        onLost: (slot, threadId) => {
          // Every shard of that worker lost its unflushed state: replay each from what has left the worker.
          for (const run of this.runs.values())
            if (this.pool.slotOf(run.shard) === slot) run.needsReset = true
          this.options.onError(
            new Error(`worker ${threadId} exited; its shards replay from their durable positions`),
            'worker',
          )
        },
      },
      this.snapshotIndex.buffer,
    )
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    // Every worker connected (control plane, snapshot loads) before the first message.
    await this.pool.ready()
    await this.flusher.recover()
    const positions = await this.options.store.positions()
    await this.load(this.options.shards)
    for (const shard of this.options.shards) await this.open(shard, positions.get(shard) ?? 0)
    this.scheduleFlush()
  }

  /**
   * Takes a shard: its reminders are scheduled, its actors start from their snapshots and the stream is
   * pulled from the store's applied position (what was applied elsewhere and written is skipped).
   */
  async addShard(shard: ShardId): Promise<void> {
    if (this.stopped) throw new RuntimeError('RT_ERR_HOST_STOPPED')
    if (!this.started) throw new RuntimeError('RT_ERR_BAD_OPTION', 'addShard before start')
    if (this.runs.has(shard)) return
    // What the previous owner committed and did not apply is applied before its snapshots are read.
    await this.flusher.recover()
    const durable = (await this.options.store.positions()).get(shard) ?? 0
    await this.load([shard])
    // Whatever the worker may still hold of the shard from an earlier ownership is stale.
    await this.pool.run({ kind: 'drop', shard, base: durable })
    await this.open(shard, durable)
  }

  /**
   * Gives up a shard (a cluster's rebalance, leave or lost lease). Stops pulling it and waits for its task
   * in flight; with `flush`, writes what its actors hold and acknowledges it first, so the next owner
   * starts where this one ended. Its activations and reminder timers are dropped either way: the next
   * owner restores the actors from their snapshots and replays what was not written. Resolves whether
   * everything of the shard was written.
   */
  async removeShard(shard: ShardId, options: { flush: boolean }): Promise<boolean> {
    const run = this.runs.get(shard)
    if (run === undefined) return true
    run.abort.abort()
    await run.loop
    const written = options.flush && !this.stopped ? await this.flushNow([run]) : false
    // Acknowledged what it could: the consumer fetches and binds nothing more (a NATS consumer kept
    // re-creating the shard's durable, for its next owner to lose, or forever once the connection closed).
    run.consumer.close()
    this.runs.delete(shard)
    this.flusher.forget(shard)
    this.reminders.dropShard(shard)
    await this.pool.run({ kind: 'drop', shard, base: 0 }).catch((e: unknown) => {
      this.options.onError(e, `drop shard ${shard}`)
    })
    return written
  }

  /** The shards this node pulls now. */
  shards(): ShardId[] {
    return [...this.runs.keys()]
  }

  /** Stops pulling, lets in-flight tasks finish, flushes everything and closes the workers. */
  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.abort.abort()
    this.flusher.wake()
    clearTimeout(this.flushTimer)
    this.reminders.clear()
    await Promise.all([...this.runs.values()].map((r) => r.loop))
    await this.flushing
    await this.flushNow()
    for (const run of this.runs.values()) run.consumer.close()
    await this.pool.destroy()
    if (this.flusher.unwrittenBatches > 0) {
      this.options.onError(
        new Error(
          `${this.flusher.unwrittenBatches} flush batches not written: what was committed is applied at the next start (or by the shards' next owners), the rest the transport redelivers`,
        ),
        'stop',
      )
    }
  }

  stats(): RuntimeStats {
    let activeActors = 0
    for (const n of this.flusher.activeByShard.values()) activeActors += n
    let mailboxDepth = 0
    for (const r of this.runs.values()) mailboxDepth += r.inFlight
    return {
      threads: this.options.threads,
      shards: this.runs.size,
      ...this.counters,
      flushes: this.flusher.flushes,
      flushFailures: this.flusher.failures,
      unwrittenBatches: this.flusher.unwrittenBatches,
      activeActors,
      mailboxDepth,
    }
  }

  /**
   * Runs a flush cycle now (over `runs`, every shard by default) and waits for it; used at shutdown, on
   * handoff and by tests that read the store. Resolves whether everything is written.
   */
  flushNow(runs?: ShardRun[]): Promise<boolean> {
    this.flushing = this.flushing.then(() => this.flusher.cycle(runs))
    return this.flushing
  }

  /**
   * Sends a message to an actor through the transport (durable, location-transparent). A caller that
   * retries a tell whose outcome it does not know passes the same `id`: it is stored once.
   */
  async tell(type: string, key: string, message: unknown, options: { id?: string } = {}): Promise<void> {
    if (this.stopped) throw new RuntimeError('RT_ERR_HOST_STOPPED')
    const shard = shardOf(type, key, this.options.shardCount)
    await this.options.transport.publish(
      shard,
      encodeEnvelopes([[type, key, message]]),
      `tell:${options.id ?? randomUUID()}`,
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
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RuntimeError('RT_ERR_ASK_TIMEOUT', `${type}/${key}`)),
        this.options.askTimeoutMs,
      )
    })
    try {
      const task = this.pool.run<AskResult>({
        kind: 'ask',
        shard,
        base: run.drainedUpTo,
        type,
        key,
        request,
      })
      return (await Promise.race([task, timeout])).reply as R
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

  /**
   * Shares `value` (structured-cloneable) under `name` with every worker, for its drain encoder
   * (`createWorkerHandler`): a worker fetches what changed before its next flush, so every batch drained
   * after `share` returns is encoded with the new value.
   */
  share(name: string, value: unknown): void {
    this.shared.set(name, value)
    this.sharedChanges++
  }

  /** Bumped by every `share`; a flush task carries it, and a worker behind it fetches the values first. */
  get sharedVersion(): number {
    return this.sharedChanges
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

  /**
   * The control plane: what each worker holds. Its shards are the node's shards pinned to it, whether or
   * not a message of theirs reached it yet (a worker learns of a shard with its first delivery).
   */
  async workerStats(): Promise<WorkerStats[]> {
    const mine = this.shards()
    return Promise.all(
      [...this.pool.controls].map(async ([threadId, control]) => {
        const slot = this.pool.slotOfThread(threadId)
        return { ...(await control.stats()), shards: mine.filter((s) => this.pool.slotOf(s) === slot).length }
      }),
    )
  }

  async listActors(limit = 100): Promise<ActorInfo[]> {
    const lists = await Promise.all([...this.pool.controls.values()].map((c) => c.listActors(limit)))
    return lists.flat().slice(0, limit)
  }

  /** The state of an active actor (its durable part where it has one); undefined when not active. */
  async inspect(type: string, key: string): Promise<unknown> {
    const control = this.pool.controlOf(shardOf(type, key, this.options.shardCount))
    return (await control?.inspect(type, key))?.state
  }

  /** Passivates an active actor now (its snapshot goes out with the next flush). */
  async passivate(type: string, key: string): Promise<boolean> {
    const control = this.pool.controlOf(shardOf(type, key, this.options.shardCount))
    return (await control?.passivate(type, key)) ?? false
  }

  /** Dead letters kept in the runtime store, newest first. */
  deadLetters(limit = 100): ReturnType<RuntimeStore['deadLetters']> {
    return this.options.store.deadLetters(limit)
  }

  recordDeadLetter(l: DeadLetter): void {
    this.counters.deadLetters++
    this.deadByType.set(l.type, (this.deadByType.get(l.type) ?? 0) + 1)
    this.options.onDeadLetter(l)
    this.flusher.keepDeadLetter(l)
  }

  /** What the store keeps of these shards: their reminders, and which of their actors have snapshots. */
  private async load(shards: readonly ShardId[]): Promise<void> {
    for (const r of await this.options.store.loadReminders(shards)) this.reminders.set(r)
    for await (const ref of this.options.store.snapshotRefs(shards)) this.snapshotIndex.add(ref)
  }

  /** Starts pulling `shard` from `durable`. */
  private async open(shard: ShardId, durable: number): Promise<void> {
    const abort = new AbortController()
    const stop = (): void => abort.abort()
    this.abort.signal.addEventListener('abort', stop, { once: true })
    let consumer: ShardRun['consumer']
    try {
      consumer = await this.options.transport.consumer(shard)
    } catch (e) {
      // No loop will remove it (NATS away while a cluster node takes the shard): one would stay per attempt.
      this.abort.signal.removeEventListener('abort', stop)
      throw e
    }
    const run: ShardRun = {
      shard,
      consumer,
      drainedUpTo: durable,
      skip: new Set(),
      needsReset: false,
      inFlight: 0,
      abort,
      loop: Promise.resolve(),
    }
    this.runs.set(shard, run)
    run.loop = this.pullLoop(run, durable).finally(() => this.abort.signal.removeEventListener('abort', stop))
  }

  /** Tells every worker the watched topics; resolves when all have them. */
  private announceTopics(): Promise<void> {
    const topics = [...this.watchers.keys()]
    this.announced = Promise.all(
      [...this.pool.controls.values()].map((c) =>
        c.setWatched(topics).catch((e: unknown) => this.options.onError(e, 'announce watched topics')),
      ),
    ).then(() => {})
    return this.announced
  }

  private dispatch(topic: string, payload: unknown): void {
    for (const l of this.watchers.get(topic) ?? []) {
      try {
        l(payload)
      } catch (e) {
        this.options.onError(e, `watcher of ${topic}`)
      }
    }
  }

  private async resetShard(run: ShardRun): Promise<void> {
    // A flush cycle may have taken this shard's effects out of the worker already (it started before the
    // shard needed a reset): the replay must start after what it took, or those messages would be applied
    // twice on top of the snapshots it took. Cycles that start meanwhile pass this shard by.
    await this.flushing.catch(() => false)
    run.needsReset = false
    run.consumer.rewind(streamSeq(run.drainedUpTo))
    this.counters.replays++
    await this.pool.run({ kind: 'reset', shard: run.shard, base: run.drainedUpTo })
  }

  private async pullLoop(run: ShardRun, durable: number): Promise<void> {
    const { signal } = run.abort
    const { consumer, shard } = run
    while (!signal.aborted) {
      await this.flusher.room(signal)
      if (signal.aborted) return
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
      run.inFlight = fresh.length
      try {
        const result = await this.pool.deliver({
          shard,
          base: run.drainedUpTo,
          seqs: packedMap(fresh, (d) => d.seq),
          payloads: fresh.map((d) => d.data),
          skip: [...run.skip],
        })
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

  private scheduleFlush(): void {
    if (this.stopped) return
    this.flushTimer = setTimeout(() => {
      void this.flushNow().finally(() => this.scheduleFlush())
    }, this.options.flushIntervalMs)
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
