import { type ReminderRecord, refId } from '../store.ts'

type Due = ReminderRecord & { at: number }

/** Longest wait setTimeout takes; longer reminders wake up and wait again. */
const MAX_WAIT = 2 ** 31 - 1

/** A reminder scheduled: its latest setting, and the timer that wakes for it. */
interface Entry {
  due: Due
  timer: NodeJS.Timeout | undefined
  shard: number
}

/**
 * The host's schedule of persisted reminders for its shards. A due reminder is handed to `fire` (which
 * sends it to the actor through the transport) and its cancellation is kept for the next store write,
 * so a reminder fires once.
 */
export class ReminderSchedule {
  private readonly entries = new Map<string, Entry>()
  private fired: ReminderRecord[] = []

  constructor(
    private readonly fire: (r: Due) => void,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size
  }

  set(r: ReminderRecord): void {
    const id = `${refId(r.type, r.key)}\u0000${r.name}`
    const entry = this.entries.get(id)
    if (r.at === null) {
      if (entry !== undefined) this.cancel(id, entry)
      return
    }
    const due = r as Due
    // Set again for later (a session's end, moved on by every flush that saw it active): the timer
    // already running goes off first and waits on for the new time, rather than one timer per setting.
    if (entry !== undefined && due.at >= entry.due.at) {
      entry.due = due
      entry.shard = r.shard
      return
    }
    if (entry !== undefined) this.cancel(id, entry)
    const next: Entry = { due, timer: undefined, shard: r.shard }
    this.entries.set(id, next)
    this.arm(id, next)
  }

  private arm(id: string, entry: Entry): void {
    const wait = entry.due.at - this.now()
    entry.timer = setTimeout(() => this.wake(id, entry), Math.min(MAX_WAIT, Math.max(0, wait)))
    entry.timer.unref()
  }

  private wake(id: string, entry: Entry): void {
    if (this.entries.get(id) !== entry) return
    if (entry.due.at > this.now()) {
      this.arm(id, entry)
      return
    }
    this.entries.delete(id)
    const due = entry.due
    this.fired.push({ ...due, at: null, message: new Uint8Array() })
    this.fire(due)
  }

  private cancel(id: string, entry: Entry): void {
    clearTimeout(entry.timer)
    this.entries.delete(id)
  }

  /** Cancellations of the reminders fired since the last call, to be stored. */
  takeFired(): ReminderRecord[] {
    return this.fired.splice(0)
  }

  /** Takes back cancellations whose write failed, ahead of the ones fired since. */
  keepFired(records: ReminderRecord[]): void {
    this.fired.unshift(...records)
  }

  /** Forgets the reminders of a shard this node gave up (its next owner loads them). */
  dropShard(shard: number): void {
    for (const [id, e] of this.entries) if (e.shard === shard) this.cancel(id, e)
  }

  clear(): void {
    for (const e of this.entries.values()) clearTimeout(e.timer)
    this.entries.clear()
  }
}
