import { type ReminderRecord, refId } from '../store.ts'

type Due = ReminderRecord & { at: number }

/** Longest wait setTimeout takes; longer reminders wake up and wait again. */
const MAX_WAIT = 2 ** 31 - 1

/**
 * The host's schedule of persisted reminders for its shards. A due reminder is handed to `fire` (which
 * sends it to the actor through the transport) and its cancellation is kept for the next store write,
 * so a reminder fires once.
 */
export class ReminderSchedule {
  private readonly entries = new Map<string, { timer: NodeJS.Timeout; shard: number }>()
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
    clearTimeout(this.entries.get(id)?.timer)
    this.entries.delete(id)
    if (r.at === null) return
    const due = r as Due
    const arm = (): void => {
      const wait = due.at - this.now()
      const timer = setTimeout(
        () => {
          if (due.at > this.now()) return arm()
          this.entries.delete(id)
          this.fired.push({ ...due, at: null, message: new Uint8Array() })
          this.fire(due)
        },
        Math.min(MAX_WAIT, Math.max(0, wait)),
      )
      timer.unref()
      this.entries.set(id, { timer, shard: r.shard })
    }
    arm()
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
    for (const [id, e] of this.entries) {
      if (e.shard !== shard) continue
      clearTimeout(e.timer)
      this.entries.delete(id)
    }
  }

  clear(): void {
    for (const e of this.entries.values()) clearTimeout(e.timer)
    this.entries.clear()
  }
}
