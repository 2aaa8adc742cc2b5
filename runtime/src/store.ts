import type { ShardId, StreamSeq } from './ids.ts'

/** Names an actor: `(type, key)`. */
export interface ActorRef {
  type: string
  key: string
}

export const refId = (type: string, key: string): string => `${type}\u0000${key}`

/** The durable part of one actor's state, or its deletion (`data: null`). */
export interface SnapshotRecord extends ActorRef {
  shard: number
  data: Uint8Array | null
}

/** A persisted reminder of an actor, or its cancellation (`at: null`). */
export interface ReminderRecord extends ActorRef {
  shard: number
  name: string
  at: number | null
  /** msgpackr-encoded message, delivered when the reminder is due. */
  message: Uint8Array
}

export interface DeadLetterRecord extends ActorRef {
  shard: number
  seq: number
  reason: string
  at: number
}

export interface RuntimeChanges {
  snapshots: SnapshotRecord[]
  reminders: ReminderRecord[]
  deadLetters: DeadLetterRecord[]
}

/** Makes a save part of a committed flush: stored once however often it is retried, rows at `version`. */
export interface SaveToken {
  /** The flush's id; a save with a token already stored is not stored again. */
  token: string
  /** Rising with every flush; a row of a later flush wins over an earlier one, whatever the order of saves. */
  version: number
}

/**
 * One flush cycle, whole, as it is committed: the stream positions it covers and, opaque to the store,
 * everything it changes. Committing it is the single atomic write of a flush; applying it (the sink's
 * tables, snapshots, reminders, messages to other actors) may then fail, be retried or be redone by
 * another node, because every part of it is idempotent under the flush's id.
 */
export interface FlushRecord {
  id: string
  version: number
  /** When it was committed (ms). */
  at: number
  /** The highest stream sequence covered, per shard. */
  positions: ReadonlyArray<readonly [shard: number, upTo: number]>
  payload: Uint8Array
}

/**
 * Where the runtime keeps what outlives an activation: snapshots, reminders, dead letters, and the
 * journal of committed flushes with the positions they cover. ClickHouse in both modes (a server or
 * chDB); the in-memory store for tests of other parts. One contract suite runs against both.
 */
export interface RuntimeStore {
  /** The latest snapshot of each actor that has one, by `refId`. */
  loadSnapshots(refs: readonly ActorRef[]): Promise<Map<string, Uint8Array>>
  /** The actors of these shards that have a snapshot (not deleted), streamed. */
  snapshotRefs(shards: readonly ShardId[]): AsyncIterable<ActorRef>
  /** The reminders not cancelled of actors on these shards. */
  loadReminders(shards: readonly ShardId[]): Promise<ReminderRecord[]>
  /**
   * Stores changes; rows of a later version (later saves without `as`) win. With `as`, saving the same
   * token twice stores it once.
   */
  save(changes: RuntimeChanges, as?: SaveToken): Promise<void>
  deadLetters(limit: number): Promise<DeadLetterRecord[]>
  /** Stores a flush record in one atomic write: from then on it is durable, applied or not. */
  commit(record: FlushRecord): Promise<void>
  /** Committed records not yet marked applied for every shard they cover, oldest first. */
  pending(): Promise<FlushRecord[]>
  /** Marks a record applied: its positions become the shards' applied positions. Idempotent. */
  applied(record: FlushRecord): Promise<void>
  /** The applied position of each shard: a new owner starts after it. */
  positions(): Promise<Map<ShardId, StreamSeq>>
  /** Forgets applied records committed before `before` (ms); pending ones are kept whatever their age. */
  prune(before: number): Promise<void>
  /**
   * Forgets every applied record now, whatever its age; resolves how many went. A data-subject erasure
   * cannot wait for pruning: records carry what the actors drained, raw events included. Costlier than
   * `prune` (it rewrites what it cannot drop whole).
   */
  forgetApplied(): Promise<number>
}

/** Whether `record` covers any shard beyond its applied position. */
export function isPending(
  record: Pick<FlushRecord, 'positions'>,
  applied: ReadonlyMap<number, number>,
): boolean {
  return record.positions.some(([shard, upTo]) => upTo > (applied.get(shard) ?? 0))
}

export class MemoryRuntimeStore implements RuntimeStore {
  /** Deletions stay as rows (`data: null`) so an older version saved later cannot bring an actor back. */
  private readonly snapshots = new Map<string, SnapshotRecord & { version: number }>()
  private readonly reminders = new Map<string, ReminderRecord & { version: number }>()
  private version = 0
  private readonly letters: DeadLetterRecord[] = []
  private readonly maxLetters: number
  private readonly tokens = new Set<string>()
  private readonly journal: FlushRecord[] = []
  private readonly appliedAt = new Map<number, number>()

  constructor(options: { maxDeadLetters?: number } = {}) {
    this.maxLetters = options.maxDeadLetters ?? 10_000
  }

  async loadSnapshots(refs: readonly ActorRef[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>()
    for (const r of refs) {
      const s = this.snapshots.get(refId(r.type, r.key))
      if (s !== undefined && s.data !== null) out.set(refId(r.type, r.key), s.data)
    }
    return out
  }

  async *snapshotRefs(shards: readonly ShardId[]): AsyncIterable<ActorRef> {
    const set = new Set<number>(shards)
    for (const s of [...this.snapshots.values()]) {
      if (set.has(s.shard) && s.data !== null) yield { type: s.type, key: s.key }
    }
  }

  async loadReminders(shards: readonly ShardId[]): Promise<ReminderRecord[]> {
    const set = new Set<number>(shards)
    return [...this.reminders.values()]
      .filter((r) => set.has(r.shard) && r.at !== null)
      .map(({ version: _, ...r }) => r)
  }

  async save(changes: RuntimeChanges, as?: SaveToken): Promise<void> {
    if (as !== undefined) {
      if (this.tokens.has(as.token)) return
      this.tokens.add(as.token)
    }
    this.version = as === undefined ? this.version + 1 : Math.max(this.version, as.version)
    const version = as?.version ?? this.version
    const later = (kept: { version: number } | undefined): boolean =>
      kept === undefined || kept.version <= version
    for (const s of changes.snapshots) {
      const id = refId(s.type, s.key)
      if (later(this.snapshots.get(id))) this.snapshots.set(id, { ...s, version })
    }
    for (const r of changes.reminders) {
      const id = `${refId(r.type, r.key)}\u0000${r.name}`
      if (later(this.reminders.get(id))) this.reminders.set(id, { ...r, version })
    }
    this.letters.push(...changes.deadLetters)
    if (this.letters.length > this.maxLetters) this.letters.splice(0, this.letters.length - this.maxLetters)
  }

  async deadLetters(limit: number): Promise<DeadLetterRecord[]> {
    return this.letters.slice(-limit)
  }

  async commit(record: FlushRecord): Promise<void> {
    if (!this.journal.some((r) => r.id === record.id)) this.journal.push(record)
  }

  async pending(): Promise<FlushRecord[]> {
    return this.journal.filter((r) => isPending(r, this.appliedAt))
  }

  async applied(record: FlushRecord): Promise<void> {
    for (const [shard, upTo] of record.positions) {
      this.appliedAt.set(shard, Math.max(this.appliedAt.get(shard) ?? 0, upTo))
    }
  }

  async positions(): Promise<Map<ShardId, StreamSeq>> {
    return new Map([...this.appliedAt].map(([s, seq]) => [s as ShardId, seq as StreamSeq]))
  }

  async prune(before: number): Promise<void> {
    const keep = this.journal.filter((r) => r.at >= before || isPending(r, this.appliedAt))
    this.journal.splice(0, this.journal.length, ...keep)
  }

  async forgetApplied(): Promise<number> {
    const keep = this.journal.filter((r) => isPending(r, this.appliedAt))
    const gone = this.journal.length - keep.length
    this.journal.splice(0, this.journal.length, ...keep)
    return gone
  }
}
