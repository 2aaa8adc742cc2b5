import type { ShardId } from './ids.ts'

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

/**
 * Where the runtime keeps what outlives an activation: snapshots, reminders, dead letters. ClickHouse
 * in both modes (a server or chDB); the in-memory store for tests of other parts. One contract suite
 * runs against both.
 */
export interface RuntimeStore {
  /** The latest snapshot of each actor that has one, by `refId`. */
  loadSnapshots(refs: readonly ActorRef[]): Promise<Map<string, Uint8Array>>
  /** The actors of these shards that have a snapshot (not deleted), streamed. */
  snapshotRefs(shards: readonly ShardId[]): AsyncIterable<ActorRef>
  /** The reminders not cancelled of actors on these shards. */
  loadReminders(shards: readonly ShardId[]): Promise<ReminderRecord[]>
  /** Stores changes; later records of the same actor (and reminder name) win. */
  save(changes: RuntimeChanges): Promise<void>
  deadLetters(limit: number): Promise<DeadLetterRecord[]>
}

export class MemoryRuntimeStore implements RuntimeStore {
  private readonly snapshots = new Map<string, SnapshotRecord & { data: Uint8Array }>()
  private readonly reminders = new Map<string, ReminderRecord>()
  private readonly letters: DeadLetterRecord[] = []
  private readonly maxLetters: number

  constructor(options: { maxDeadLetters?: number } = {}) {
    this.maxLetters = options.maxDeadLetters ?? 10_000
  }

  async loadSnapshots(refs: readonly ActorRef[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>()
    for (const r of refs) {
      const s = this.snapshots.get(refId(r.type, r.key))
      if (s !== undefined) out.set(refId(r.type, r.key), s.data)
    }
    return out
  }

  async *snapshotRefs(shards: readonly ShardId[]): AsyncIterable<ActorRef> {
    const set = new Set<number>(shards)
    for (const s of [...this.snapshots.values()]) if (set.has(s.shard)) yield { type: s.type, key: s.key }
  }

  async loadReminders(shards: readonly ShardId[]): Promise<ReminderRecord[]> {
    const set = new Set<number>(shards)
    return [...this.reminders.values()].filter((r) => set.has(r.shard))
  }

  async save(changes: RuntimeChanges): Promise<void> {
    for (const s of changes.snapshots) {
      if (s.data === null) this.snapshots.delete(refId(s.type, s.key))
      else this.snapshots.set(refId(s.type, s.key), { ...s, data: s.data })
    }
    for (const r of changes.reminders) {
      const id = `${refId(r.type, r.key)}\u0000${r.name}`
      if (r.at === null) this.reminders.delete(id)
      else this.reminders.set(id, r)
    }
    this.letters.push(...changes.deadLetters)
    if (this.letters.length > this.maxLetters) this.letters.splice(0, this.letters.length - this.maxLetters)
  }

  async deadLetters(limit: number): Promise<DeadLetterRecord[]> {
    return this.letters.slice(-limit)
  }
}
