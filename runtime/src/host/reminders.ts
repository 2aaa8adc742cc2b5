import { type ReminderRecord, refId } from '../store.ts'

type Due = ReminderRecord & { at: number }

/** Longest wait setTimeout takes; longer reminders wake up and wait again. */
const MAX_WAIT = 2 ** 31 - 1

/** A reminder scheduled: its latest setting, and its place in the schedule's heap. */
interface Entry {
  id: string
  type: string
  key: string
  name: string
  shard: number
  at: number
  message: Uint8Array
  /** Index in `heap`. */
  slot: number
}

/**
 * The host's schedule of persisted reminders for its shards. A due reminder is handed to `fire` (which
 * sends it to the actor through the transport) and its cancellation is kept for the next store write,
 * so a reminder fires once.
 *
 * Every live session keeps a reminder here, so an entry is kept small: its fields and its own copy of
 * the message (a record read from a flush views the flush's whole buffer, which the reminder would hold
 * for half an hour), in a binary heap by time under one timer for the earliest. A timer per reminder
 * made a Timeout, a closure and, their waits differing by the millisecond, a timer list of its own per
 * reminder: with the record it held, about 900 bytes each, a third of the host's heap under the ingest
 * bench.
 */
export class ReminderSchedule {
  private readonly entries = new Map<string, Entry>()
  /** Min-heap of the entries by `at`. */
  private readonly heap: Entry[] = []
  private fired: ReminderRecord[] = []
  private timer: NodeJS.Timeout | undefined
  /** When the timer goes off (Infinity: no timer). */
  private timerAt = Number.POSITIVE_INFINITY

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
      if (entry !== undefined) this.remove(entry)
    } else if (entry === undefined) {
      const next: Entry = {
        id,
        type: r.type,
        key: r.key,
        name: r.name,
        shard: r.shard,
        at: r.at,
        message: new Uint8Array(r.message),
        slot: this.heap.length,
      }
      this.entries.set(id, next)
      this.heap.push(next)
      this.up(next.slot)
    } else {
      const earlier = r.at < entry.at
      entry.at = r.at
      entry.shard = r.shard
      entry.message = new Uint8Array(r.message)
      if (earlier) this.up(entry.slot)
      else this.down(entry.slot)
    }
    this.arm()
  }

  /** Sets the timer for the earliest reminder, unless it is set for that time already. */
  private arm(): void {
    const first = this.heap[0]
    const at = first?.at ?? Number.POSITIVE_INFINITY
    if (at === this.timerAt) return
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = at
    if (first === undefined) return
    this.timer = setTimeout(() => this.wake(), Math.min(MAX_WAIT, Math.max(0, at - this.now())))
    this.timer.unref()
  }

  private wake(): void {
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    const now = this.now()
    for (let first = this.heap[0]; first !== undefined && first.at <= now; first = this.heap[0]) {
      this.remove(first)
      const { id: _id, slot: _slot, ...due } = first
      this.fired.push({ ...due, at: null, message: new Uint8Array() })
      this.fire(due)
    }
    this.arm()
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.id)
    const last = this.heap.pop()!
    if (last === entry) return
    this.heap[entry.slot] = last
    last.slot = entry.slot
    this.up(last.slot)
    this.down(last.slot)
  }

  private up(i: number): void {
    const h = this.heap
    const e = h[i]!
    while (i > 0) {
      const p = (i - 1) >> 1
      if (h[p]!.at <= e.at) break
      h[i] = h[p]!
      h[i]!.slot = i
      i = p
    }
    h[i] = e
    e.slot = i
  }

  private down(i: number): void {
    const h = this.heap
    const e = h[i]!
    for (;;) {
      const l = 2 * i + 1
      if (l >= h.length) break
      const c = l + 1 < h.length && h[l + 1]!.at < h[l]!.at ? l + 1 : l
      if (h[c]!.at >= e.at) break
      h[i] = h[c]!
      h[i]!.slot = i
      i = c
    }
    h[i] = e
    e.slot = i
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
    for (const e of [...this.entries.values()]) if (e.shard === shard) this.remove(e)
    this.arm()
  }

  clear(): void {
    this.entries.clear()
    this.heap.length = 0
    this.arm()
  }
}
