import { Packr } from 'msgpackr'
import type { Envelope } from '../actor.ts'
import { encodeEnvelopes } from '../envelopes.ts'
import { type ShardId, shardId, shardOf, streamSeq } from '../ids.ts'
import { type ActorRef, type ReminderRecord, refId, type SnapshotRecord } from '../store.ts'
import type { ShardConsumer } from '../transport.ts'
import { readBack } from './flush-wire.ts'
import type { FlushBatch, ResolvedOptions } from './options.ts'
import type { WorkerPool } from './pool.ts'
import type { ReminderSchedule } from './reminders.ts'
import type { SnapshotIndex } from './snapshot-index.ts'
import type { DeadLetter, FlushResult } from './types.ts'

/** A shard this node pulls. */
export interface ShardRun {
  shard: ShardId
  consumer: ShardConsumer
  /** Highest seq whose effect has left the worker (drained, maybe not written yet). */
  drainedUpTo: number
  /** Dead envelopes (`seq:index`) to skip when the shard is replayed. */
  skip: Set<string>
  /** The worker lost the shard's state (a handler threw, the worker died): replay from `drainedUpTo`. */
  needsReset: boolean
  inFlight: number
  /** Stops this shard's pull loop (the host stops, or the shard is given up). */
  abort: AbortController
  loop: Promise<void>
}

interface Unwritten extends FlushBatch {
  snapshots: SnapshotRecord[]
  reminders: ReminderRecord[]
  outbox: Envelope[]
}

/** What the flush needs of its host. */
export interface FlushHost {
  readonly options: ResolvedOptions
  readonly pool: WorkerPool
  readonly reminders: ReminderSchedule
  readonly runs: ReadonlyMap<ShardId, ShardRun>
  readonly snapshotIndex: SnapshotIndex
  recordDeadLetter(letter: DeadLetter): void
}

/**
 * The flush cycle: drains the workers' shards, keeps what they hand out until it is written (snapshots,
 * reminders and outgoing messages first, the sink's records and positions last), and only then
 * acknowledges the transport. What cannot be written stays here and is retried at the next cycle; past
 * `maxUnwrittenBatches` the shards stop pulling.
 */
export class Flusher {
  private unwritten: Unwritten[] = []
  /** Dead letters not yet in the store. */
  private readonly letters: Array<DeadLetter & { at: number }> = []
  private readonly packr = new Packr({ useRecords: false })
  private waiters: Array<() => void> = []
  readonly activeByShard = new Map<ShardId, number>()
  flushes = 0
  failures = 0

  constructor(private readonly host: FlushHost) {}

  get unwrittenBatches(): number {
    return this.unwritten.length
  }

  /** Resolves when a shard may pull again (there is room for unwritten batches, or `signal` aborts). */
  async room(signal: AbortSignal): Promise<void> {
    while (this.unwritten.length >= this.host.options.maxUnwrittenBatches && !signal.aborted) {
      await new Promise<void>((resolve) => {
        // Woken or aborted, whichever comes first; the listener goes either way (waits can be many).
        const done = (): void => {
          signal.removeEventListener('abort', done)
          resolve()
        }
        this.waiters.push(done)
        signal.addEventListener('abort', done, { once: true })
      })
    }
  }

  /** Wakes every shard waiting for room. */
  wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  keepDeadLetter(letter: DeadLetter): void {
    this.letters.push({ ...letter, at: Date.now() })
  }

  /**
   * One cycle over `runs` (every shard by default). Resolves whether everything unwritten, of every
   * shard, is now written.
   */
  async cycle(runs: readonly ShardRun[] = [...this.host.runs.values()]): Promise<boolean> {
    const { pool, options } = this.host
    const results = await Promise.all(
      runs
        .filter((r) => !r.needsReset)
        .map(async (run) => {
          try {
            return await pool.run<FlushResult>({ kind: 'flush', shard: run.shard, base: run.drainedUpTo })
          } catch (e) {
            options.onError(e, `flush shard ${run.shard}`)
            return undefined
          }
        }),
    )
    for (const r of results) {
      const run = r && this.host.runs.get(shardId(r.shard))
      if (r === undefined || run === undefined || r.upTo < 0) continue
      this.collect(run, r)
    }
    if (this.unwritten.length === 0 && this.letters.length === 0) return true
    const batches = this.unwritten
    const letters = this.letters.splice(0)
    try {
      await this.write(batches, letters)
    } catch (e) {
      this.letters.unshift(...letters)
      this.failures++
      options.onError(e, 'flush write (kept, retried next interval)')
      return false
    }
    this.unwritten = this.unwritten.slice(batches.length)
    this.flushes++
    this.wake()
    const acked = new Map<ShardId, number>()
    for (const b of batches) acked.set(b.shard, Math.max(acked.get(b.shard) ?? 0, b.upTo))
    await Promise.all(
      [...acked].map(([shard, upTo]) =>
        this.host.runs
          .get(shard)
          ?.consumer.ack(streamSeq(upTo))
          .catch((e: unknown) => options.onError(e, `ack shard ${shard}`)),
      ),
    )
    return this.unwritten.length === 0
  }

  /** Drops what a shard handed out and was not written: its next owner replays it from the stream. */
  forget(shard: ShardId): void {
    this.unwritten = this.unwritten.filter((u) => u.shard !== shard)
    this.activeByShard.delete(shard)
    this.wake()
  }

  /** Snapshots not yet written are served from the unwritten batches, so a replay never reads stale state. */
  async loadSnapshots(refs: ActorRef[]): Promise<Map<string, Uint8Array>> {
    const pending = new Map<string, Uint8Array | null>()
    for (const u of this.unwritten) for (const s of u.snapshots) pending.set(refId(s.type, s.key), s.data)
    const index = this.host.snapshotIndex
    const fromStore = refs.filter((r) => !pending.has(refId(r.type, r.key)) && index.mayHave(r))
    const out = await this.host.options.store.loadSnapshots(fromStore)
    for (const r of refs) {
      const p = pending.get(refId(r.type, r.key))
      if (p) out.set(refId(r.type, r.key), p)
    }
    return out
  }

  private collect(run: ShardRun, r: FlushResult): void {
    this.activeByShard.set(run.shard, r.activeActors)
    for (const l of r.deadLetters) this.host.recordDeadLetter(l)
    const drained = this.packr.unpack(r.bytes.subarray(0, r.drainedEnd)) as Record<string, unknown[]>
    const empty =
      Object.keys(drained).length === 0 &&
      r.snapshots.length + r.reminders.length + r.outbox.length + r.deadLetters.length === 0 &&
      r.upTo <= run.drainedUpTo
    if (empty) return
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

  /**
   * Order matters: messages to other actors are stored in the transport and runtime state in the store
   * before the sink records the positions; a crash in between replays, and replays are idempotent.
   */
  private async write(batches: Unwritten[], letters: Array<DeadLetter & { at: number }>): Promise<void> {
    const { options, reminders } = this.host
    await Promise.all(
      batches.flatMap((b) =>
        b.outbox.map((env, i) =>
          options.transport.publish(
            shardOf(env[0], env[1], options.shardCount),
            encodeEnvelopes([env]),
            `out:${b.shard}:${b.upTo}:${i}`,
          ),
        ),
      ),
    )
    const set = batches.flatMap((b) => b.reminders)
    const snapshots = batches.flatMap((b) => b.snapshots)
    const fired = reminders.takeFired()
    try {
      await options.store.save({
        snapshots,
        // Fired cancellations first: an actor that set the same reminder again since must win.
        reminders: [...fired, ...set],
        deadLetters: letters.map((l) => ({
          shard: l.shard,
          seq: l.seq,
          type: l.type,
          key: l.key,
          reason: l.reason,
          at: l.at,
        })),
      })
    } catch (e) {
      // Not stored: the cancellations go with the next write, or the reminders would fire again.
      reminders.keepFired(fired)
      throw e
    }
    for (const r of set) reminders.set(r)
    for (const s of snapshots) if (s.data !== null) this.host.snapshotIndex.add(s)
    await options.sink.write(batches.map(({ shard, upTo, drained }) => ({ shard, upTo, drained })))
  }
}
