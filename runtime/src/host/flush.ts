import { randomUUID } from 'node:crypto'
import type { Envelope } from '../actor.ts'
import { encodeEnvelopes } from '../envelopes.ts'
import { type ShardId, shardId, shardOf, streamSeq } from '../ids.ts'
import { settleAll } from '../settle.ts'
import { type ActorRef, type FlushRecord, type ReminderRecord, refId, type SnapshotRecord } from '../store.ts'
import type { ShardConsumer } from '../transport.ts'
import { readBack } from './flush-wire.ts'
import { decodeFlush, type FlushContent, packFlush } from './journal.ts'
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

/** A flush committed to the store's journal and not yet applied. */
interface Committed {
  record: FlushRecord
  content: FlushContent
}

/** What the flush needs of its host. */
export interface FlushHost {
  readonly options: ResolvedOptions
  readonly pool: WorkerPool
  readonly reminders: ReminderSchedule
  readonly runs: ReadonlyMap<ShardId, ShardRun>
  readonly snapshotIndex: SnapshotIndex
  /** Version of the values shared with the workers: a flush task carries it. */
  readonly sharedVersion: number
  recordDeadLetter(letter: DeadLetter): void
}

/** Applied journal records older than this go (pending ones stay whatever their age). */
const JOURNAL_KEEP_MS = 60 * 60_000
const PRUNE_EVERY_MS = 10 * 60_000

/**
 * The flush cycle: drains the workers' shards, commits what they hand out as one record of the store's
 * journal — the one atomic write of a flush, after which the transport is acknowledged — and then
 * applies it: the sink's tables, snapshots and reminders, messages to other actors, and last the
 * positions. Each of those is idempotent under the record's id, so a crash anywhere after the commit is
 * mended by applying the record again (this node at its next start, or whichever node takes one of its
 * shards: `recover`), and a crash before it replays the stream on top of the previous record's
 * snapshots. What cannot be committed or applied stays here and is retried at the next cycle; past
 * `maxUnwrittenBatches` the shards stop pulling.
 */
export class Flusher {
  private unwritten: Unwritten[] = []
  private readonly committed: Committed[] = []
  private readonly snapshotIndexes = new WeakMap<readonly SnapshotRecord[], Map<string, Uint8Array | null>>()
  /** Dead letters not yet in the store. */
  private readonly letters: Array<DeadLetter & { at: number }> = []
  /** Record ids are this host's id and a version: unique across nodes whose clocks agree to the µs. */
  private readonly hostId = randomUUID().slice(0, 13)
  private version = Date.now() * 1000
  private prunedAt = Date.now()
  private waiters: Array<() => void> = []
  readonly activeByShard = new Map<ShardId, number>()
  flushes = 0
  failures = 0

  constructor(private readonly host: FlushHost) {}

  /** Batches handed out by the workers and not yet applied. */
  get unwrittenBatches(): number {
    let n = this.unwritten.length
    for (const c of this.committed) n += c.content.batches.length
    return n
  }

  /** Resolves when a shard may pull again (there is room for unwritten batches, or `signal` aborts). */
  async room(signal: AbortSignal): Promise<void> {
    while (this.unwrittenBatches >= this.host.options.maxUnwrittenBatches && !signal.aborted) {
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
   * One cycle over `runs` (every shard by default). Resolves whether everything handed out, of every
   * shard, is now committed and applied.
   */
  async cycle(runs: readonly ShardRun[] = [...this.host.runs.values()]): Promise<boolean> {
    const { pool, options } = this.host
    const results = await Promise.all(
      runs
        .filter((r) => !r.needsReset)
        .map(async (run) => {
          try {
            return await pool.run<FlushResult>({
              kind: 'flush',
              shard: run.shard,
              base: run.drainedUpTo,
              shared: this.host.sharedVersion,
            })
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
    const committed = await this.commit()
    const applied = await this.applyCommitted()
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now()
      options.store
        .prune(Date.now() - JOURNAL_KEEP_MS)
        .catch((e: unknown) => options.onError(e, 'prune the flush journal'))
    }
    return committed && applied && this.unwritten.length === 0
  }

  /** Drops what a shard handed out and was not committed: its next owner replays it from the stream. */
  forget(shard: ShardId): void {
    this.unwritten = this.unwritten.filter((u) => u.shard !== shard)
    this.activeByShard.delete(shard)
    this.wake()
  }

  /**
   * Applies the records other hosts (or this one before a crash) committed and did not finish applying.
   * Runs before a shard's snapshots and position are read: they must include every committed flush.
   */
  async recover(): Promise<void> {
    const own = new Set(this.committed.map((c) => c.record.id))
    for (const record of await this.host.options.store.pending()) {
      if (!own.has(record.id)) await this.apply(record, decodeFlush(record.payload))
    }
  }

  /** Snapshots not yet applied are served from memory, so a replay never reads stale state. */
  async loadSnapshots(refs: ActorRef[]): Promise<Map<string, Uint8Array>> {
    // Newest first: the latest snapshot handed out and not yet applied wins over older ones and the store.
    const sources = [
      ...this.unwritten.map((u) => u.snapshots).reverse(),
      ...this.committed.map((c) => c.content.snapshots).reverse(),
    ]
    const pending = new Map<string, Uint8Array | null>()
    for (const r of refs) {
      const id = refId(r.type, r.key)
      for (const list of sources) {
        const data = this.snapshotsById(list).get(id)
        if (data !== undefined) {
          pending.set(id, data)
          break
        }
      }
    }
    const index = this.host.snapshotIndex
    const fromStore = refs.filter((r) => !pending.has(refId(r.type, r.key)) && index.mayHave(r))
    const out = await this.host.options.store.loadSnapshots(fromStore)
    for (const [id, data] of pending) if (data !== null) out.set(id, data)
    return out
  }

  /**
   * A list of snapshots by actor, built once per list: activations ask for a few actors at a time while a
   * cycle holds thousands of snapshots, and walking them all on every ask cost a tenth of the main thread
   * under ingest load.
   */
  private snapshotsById(list: readonly SnapshotRecord[]): Map<string, Uint8Array | null> {
    let byId = this.snapshotIndexes.get(list)
    if (byId === undefined) {
      byId = new Map()
      for (const s of list) byId.set(refId(s.type, s.key), s.data)
      this.snapshotIndexes.set(list, byId)
    }
    return byId
  }

  private collect(run: ShardRun, r: FlushResult): void {
    this.activeByShard.set(run.shard, r.activeActors)
    for (const l of r.deadLetters) this.host.recordDeadLetter(l)
    const empty =
      r.drainedEnd === 0 &&
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
      drained: r.bytes.subarray(0, r.drainedEnd),
      ...readBack(r),
      outbox: r.outbox,
    })
  }

  /**
   * Commits everything handed out as one journal record, then acknowledges the transport: from here the
   * flush survives any crash. A cycle with no batch (only dead letters or fired reminders) has nothing to
   * replay and no position to record: it is applied directly. Resolves whether it was stored.
   */
  private async commit(): Promise<boolean> {
    const { options, reminders } = this.host
    const batches = this.unwritten
    const letters = this.letters.splice(0)
    const fired = reminders.takeFired()
    if (batches.length === 0 && letters.length === 0 && fired.length === 0) return true
    const content: Omit<FlushContent, 'batches'> = {
      snapshots: latest(
        batches.flatMap((b) => b.snapshots),
        (s) => refId(s.type, s.key),
      ),
      // Fired cancellations first: an actor that set the same reminder again since must win.
      reminders: latest(
        [...fired, ...batches.flatMap((b) => b.reminders)],
        (r) => `${refId(r.type, r.key)}\u0000${r.name}`,
      ),
      deadLetters: letters.map((l) => ({
        shard: l.shard,
        seq: l.seq,
        type: l.type,
        key: l.key,
        reason: l.reason,
        at: l.at,
      })),
      outbox: batches.flatMap((b) => b.outbox),
    }
    const upTo = new Map<number, number>()
    for (const b of batches) upTo.set(b.shard, Math.max(upTo.get(b.shard) ?? 0, b.upTo))
    this.version = Math.max(this.version + 1, Date.now() * 1000)
    const record: FlushRecord = {
      id: `${this.hostId}-${this.version}`,
      version: this.version,
      at: Date.now(),
      positions: [...upTo],
      payload: new Uint8Array(),
    }
    const full: FlushContent = {
      ...content,
      batches: batches.map(({ shard, upTo, drained }) => ({ shard, upTo, drained })),
    }
    try {
      if (batches.length === 0) await this.apply(record, full)
      else {
        record.payload = await packFlush(batches, content)
        await options.store.commit(record)
      }
    } catch (e) {
      this.letters.unshift(...letters)
      // Not stored: the cancellations go with the next commit, or the reminders would fire again.
      reminders.keepFired(fired)
      this.failures++
      options.onError(e, 'flush commit (kept, retried next interval)')
      return false
    }
    // Not `slice`: a shard given up meanwhile (`forget`) may have changed the list.
    const done = new Set(batches)
    this.unwritten = this.unwritten.filter((u) => !done.has(u))
    if (batches.length > 0) this.committed.push({ record, content: full })
    for (const r of content.reminders) reminders.set(r)
    this.flushes++
    await Promise.all(
      [...upTo].map(([shard, seq]) =>
        this.host.runs
          .get(shardId(shard))
          ?.consumer.ack(streamSeq(seq))
          .catch((e: unknown) => options.onError(e, `ack shard ${shard}`)),
      ),
    )
    return true
  }

  /** Applies the committed records in order; stops at the first that fails (retried next cycle). */
  private async applyCommitted(): Promise<boolean> {
    while (this.committed.length > 0) {
      const { record, content } = this.committed[0]!
      try {
        await this.apply(record, content)
      } catch (e) {
        this.failures++
        this.host.options.onError(e, 'flush apply (committed; retried next interval)')
        return false
      }
      this.committed.shift()
      this.wake()
    }
    return true
  }

  /** Writes what a record changes. Every step is idempotent under the record's id; positions go last. */
  private async apply(record: FlushRecord, content: FlushContent): Promise<void> {
    const { options } = this.host
    // Together: the sink's tables and the store's records are independent of each other.
    await settleAll(
      [
        async () => {
          if (content.batches.length > 0) await options.sink.write(content.batches, record.id)
        },
        () =>
          options.store.save(
            { snapshots: content.snapshots, reminders: content.reminders, deadLetters: content.deadLetters },
            { token: record.id, version: record.version },
          ),
      ],
      2,
    )
    await Promise.all(
      content.outbox.map((env, i) =>
        options.transport.publish(
          shardOf(env[0], env[1], options.shardCount),
          encodeEnvelopes([env]),
          `out:${record.id}:${i}`,
        ),
      ),
    )
    await options.store.applied(record)
  }
}

/** The last record of each id, in the order of their last appearance. */
function latest<T>(records: readonly T[], id: (r: T) => string): T[] {
  const byId = new Map<string, T>()
  for (const r of records) {
    const k = id(r)
    byId.delete(k)
    byId.set(k, r)
  }
  return [...byId.values()]
}
