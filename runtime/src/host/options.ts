import { availableParallelism } from 'node:os'
import { RuntimeError } from '../errors.ts'
import { type ShardId, type StreamSeq, shardId } from '../ids.ts'
import { MemoryRuntimeStore, type RuntimeStore } from '../store.ts'
import type { Transport } from '../transport.ts'
import type { DeadLetter } from './types.ts'

/** What one shard's actors handed out at one flush, and the stream position it covers. */
export interface FlushBatch {
  shard: ShardId
  upTo: StreamSeq
  /**
   * The drained records as the worker encoded them: its `encodeDrained` (`createWorkerHandler`), or by
   * default msgpack of `{ [actorType]: records }`, which `decodeDrained` reads. Empty when nothing drained.
   */
  drained: Uint8Array
}

/**
 * Where drained records become durable. A flush is committed to the runtime store first (its journal)
 * and then applied, and applying is repeated after a crash or by the shard's next owner: `write` must
 * store the batches of one `token` once, however often it is called with it.
 */
export interface FlushSink {
  write(batches: readonly FlushBatch[], token: string): Promise<void>
}

export interface RuntimeHostOptions {
  transport: Transport
  sink: FlushSink
  /** Snapshots, reminders and dead letters; in memory by default (tests of other parts). */
  store?: RuntimeStore
  /** The worker module: its default export is `createWorkerHandler([...actor definitions])`. */
  workerFile: string | URL
  shardCount: number
  /**
   * Shards this node owns from the start; all of them by default (the embedded single node). A node of a
   * cluster starts with none and is given shards with `addShard` as it acquires their leases.
   */
  shards?: ShardId[]
  /**
   * Worker threads; by default one less than the cores, at least one: the host's own thread (pulls,
   * deliveries, flushes — and, in a process that also serves HTTP, every request) keeps a core to itself.
   * On two cores a second worker measured slower end to end: it took CPU from the thread every message
   * passes through, while the workers stood idle three quarters of the time.
   */
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

export interface ResolvedOptions
  extends Required<Omit<RuntimeHostOptions, 'shards' | 'workerFile' | 'store'>> {
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

/** Worker threads when none are asked for: one less than the cores, at least one. */
export function defaultThreads(): number {
  return Math.max(1, availableParallelism() - 1)
}

/** Options with their defaults applied, checked. */
export function resolveOptions(options: RuntimeHostOptions): ResolvedOptions {
  const threads = options.threads ?? defaultThreads()
  if (!Number.isInteger(threads) || threads < 1)
    throw new RuntimeError('RT_ERR_BAD_OPTION', `threads=${threads}`)
  if (!Number.isInteger(options.shardCount) || options.shardCount < 1 || options.shardCount > 65535) {
    throw new RuntimeError('RT_ERR_BAD_OPTION', `shardCount=${options.shardCount}`)
  }
  return {
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
}
