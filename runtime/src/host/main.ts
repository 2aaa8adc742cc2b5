import { setMaxListeners } from 'node:events'
import { availableParallelism } from 'node:os'
import { Packr } from 'msgpackr'
import { Piscina } from 'piscina'
import { RuntimeError } from '../errors.ts'
import { type ShardId, type StreamSeq, shardId, streamSeq } from '../ids.ts'
import type { ShardConsumer, Transport } from '../transport.ts'
import type { DeadLetter, DeliverResult, FlushResult, WorkerTask } from './types.ts'

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
  /** The worker module: its default export is `createWorkerHandler([...actor definitions])`. */
  workerFile: string | URL
  shardCount: number
  /** Shards this node owns; all of them by default (the embedded single node). */
  shards?: ShardId[]
  /** Worker threads; the number of cores by default. */
  threads?: number
  flushIntervalMs?: number
  /** Most stream messages in one task to a worker. */
  maxBatch?: number
  /** Unwritten flush batches kept while the sink fails; past it, shards stop pulling. */
  maxUnwrittenBatches?: number
  onError?: (error: unknown, context: string) => void
  onDeadLetter?: (letter: DeadLetter) => void
}

interface ResolvedOptions extends Required<Omit<RuntimeHostOptions, 'shards' | 'workerFile'>> {
  shards: ShardId[]
  workerFile: string
}

export interface RuntimeStats {
  threads: number
  shards: number
  delivered: number
  applied: number
  deadLetters: number
  flushes: number
  flushFailures: number
  unwrittenBatches: number
  activeActors: number
}

const queueOptions = Piscina.queueOptionsSymbol

/**
 * Hosts actors of a node: pulls each owned shard from the transport, hands batches to the worker that
 * owns the shard, and every flush interval drains the workers, writes to the sink and only then
 * acknowledges the transport.
 */
export class RuntimeHost {
  private readonly options: ResolvedOptions
  private readonly pool: Piscina
  private readonly packr = new Packr({ useRecords: false })
  /** Worker slot of a shard is `shard % threads`; a slot holds the id of the worker serving it. */
  private readonly slots: Array<number | undefined>
  private readonly abort = new AbortController()
  private readonly consumers = new Map<ShardId, ShardConsumer>()
  private readonly applied = new Map<ShardId, number>()
  private readonly flushed = new Map<ShardId, number>()
  private readonly loops: Promise<void>[] = []
  private readonly activeByShard = new Map<ShardId, number>()
  private unwritten: FlushBatch[] = []
  private flushTimer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private admissionWaiters: Array<() => void> = []
  private started = false
  private stopped = false
  private readonly counters = { delivered: 0, applied: 0, deadLetters: 0, flushes: 0, flushFailures: 0 }

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
      workerFile: String(options.workerFile),
      shardCount: options.shardCount,
      shards: options.shards ?? Array.from({ length: options.shardCount }, (_, i) => shardId(i)),
      threads,
      flushIntervalMs: options.flushIntervalMs ?? 1000,
      maxBatch: options.maxBatch ?? 256,
      maxUnwrittenBatches: options.maxUnwrittenBatches ?? options.shardCount * 30,
      onError: options.onError ?? ((e, where) => console.error(`[runtime] ${where}:`, e)),
      onDeadLetter: options.onDeadLetter ?? ((l) => console.error('[runtime] dead letter', l)),
    }
    this.slots = new Array<number | undefined>(threads).fill(undefined)
    // Every shard's pull waits on this one signal.
    setMaxListeners(this.options.shards.length + 10, this.abort.signal)
    this.pool = new Piscina({
      filename: this.options.workerFile,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      // Every shard of a worker may have a task queued there; the per-shard loop keeps it to one each.
      concurrentTasksPerWorker: Math.max(1, Math.ceil(this.options.shards.length / threads) + 1),
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
    this.pool.on('workerDestroy', (w: { id: number }) => {
      const i = this.slots.indexOf(w.id)
      if (i >= 0) this.slots[i] = undefined
    })
    this.pool.on('error', (e: unknown) => this.options.onError(e, 'worker pool'))
  }

  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    const positions = await this.options.sink.positions()
    for (const shard of this.options.shards) {
      const durable = positions.get(shard) ?? 0
      this.applied.set(shard, durable)
      this.flushed.set(shard, durable)
      const consumer = await this.options.transport.consumer(shard)
      this.consumers.set(shard, consumer)
      this.loops.push(this.pullLoop(shard, consumer, durable))
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
    return {
      threads: this.options.threads,
      shards: this.options.shards.length,
      ...this.counters,
      unwrittenBatches: this.unwritten.length,
      activeActors,
    }
  }

  /** Runs a flush cycle now and waits for it; used at shutdown and by tests that read the store. */
  flushNow(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushCycle())
    return this.flushing
  }

  private async pullLoop(shard: ShardId, consumer: ShardConsumer, durable: number): Promise<void> {
    const { signal } = this.abort
    while (!signal.aborted) {
      if (this.unwritten.length >= this.options.maxUnwrittenBatches) {
        await new Promise<void>((resolve) => this.admissionWaiters.push(resolve))
        continue
      }
      let batch: Awaited<ReturnType<ShardConsumer['pull']>>
      try {
        batch = await consumer.pull(this.options.maxBatch, signal)
      } catch (e) {
        if (signal.aborted) return
        this.options.onError(e, `pull shard ${shard}`)
        await new Promise((r) => setTimeout(r, 500))
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
      const task: WorkerTask & { [queueOptions]: { shard: number } } = {
        kind: 'deliver',
        shard,
        seqs: fresh.map((d) => d.seq),
        payloads: fresh.map((d) => d.data),
        [queueOptions]: { shard },
      }
      try {
        const result = (await this.pool.run(task)) as DeliverResult
        this.counters.delivered += fresh.length
        this.counters.applied += result.applied
        this.counters.deadLetters += result.deadLetters.length
        for (const l of result.deadLetters) this.options.onDeadLetter(l)
        this.applied.set(shard, last)
      } catch (e) {
        // TODO(runtime issue): a worker that died loses its unflushed state; rewind the shard to the
        // durable position and replay from the transport instead of stopping the shard.
        this.options.onError(e, `deliver shard ${shard}`)
        return
      }
    }
  }

  private scheduleFlush(): void {
    if (this.stopped) return
    this.flushTimer = setTimeout(() => {
      void this.flushNow().finally(() => this.scheduleFlush())
    }, this.options.flushIntervalMs)
  }

  private async flushCycle(): Promise<void> {
    const dirty = this.options.shards.filter((s) => (this.applied.get(s) ?? 0) > (this.flushed.get(s) ?? 0))
    const results = await Promise.all(
      dirty.map(async (shard) => {
        const task = { kind: 'flush', shard, [queueOptions]: { shard } } as const
        return (await this.pool.run(task)) as FlushResult
      }),
    )
    for (const r of results) {
      this.activeByShard.set(shardId(r.shard), r.activeActors)
      this.unwritten.push({
        shard: shardId(r.shard),
        upTo: streamSeq(r.upTo),
        drained: this.packr.unpack(r.drained) as Record<string, unknown[]>,
      })
    }
    if (this.unwritten.length === 0) return
    const batches = this.unwritten
    try {
      await this.options.sink.write(batches)
    } catch (e) {
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
      [...acked].map(async ([shard, upTo]) => {
        this.flushed.set(shard, Math.max(this.flushed.get(shard) ?? 0, upTo))
        await this.consumers
          .get(shard)
          ?.ack(streamSeq(upTo))
          .catch((e: unknown) => this.options.onError(e, `ack shard ${shard}`))
      }),
    )
  }
}
