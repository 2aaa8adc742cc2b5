import { type ActorContext, type ActorKey, actorKey } from '@hm/runtime'

interface Pending<M> {
  at: number
  message: M
}

/**
 * An ActorContext driven by the test: a simulated clock, timers and reminders recorded (and due ones
 * handed back by `advance`), publishes and passivation requests captured.
 */
export class TestContext<M> implements ActorContext<M> {
  clock: number
  readonly timers = new Map<string, Pending<M>>()
  readonly reminders = new Map<string, Pending<M>>()
  readonly reminderSets: Array<{ name: string; at: number }> = []
  readonly published: Array<{ topic: string; payload: unknown }> = []
  readonly told: Array<[string, string, unknown]> = []
  readonly watching = new Set<string>()
  passivations = 0

  constructor(
    readonly type: string,
    key: string,
    start = Date.UTC(2026, 10, 20, 12),
  ) {
    this.key = actorKey(key)
    this.clock = start
  }

  readonly key: ActorKey
  now = (): number => this.clock
  tell(type: string, key: string, message: unknown): void {
    this.told.push([type, key, message])
  }
  setTimer(name: string, delayMs: number, message: M): void {
    this.timers.set(name, { at: this.clock + delayMs, message })
  }
  cancelTimer(name: string): void {
    this.timers.delete(name)
  }
  setReminder(name: string, atMs: number, message: M): void {
    this.reminders.set(name, { at: atMs, message })
    this.reminderSets.push({ name, at: atMs })
  }
  cancelReminder(name: string): void {
    this.reminders.delete(name)
  }
  watched(topic: string): boolean {
    return this.watching.has(topic)
  }
  publish(topic: string, payload: unknown): void {
    if (this.watching.has(topic)) this.published.push({ topic, payload })
  }
  passivate(): void {
    this.passivations++
  }

  /** Moves the clock by `ms` and returns the timer messages that came due (removed), earliest first. */
  advance(ms: number): M[] {
    this.clock += ms
    const due = [...this.timers].filter(([, t]) => t.at <= this.clock).sort((a, b) => a[1].at - b[1].at)
    for (const [name] of due) this.timers.delete(name)
    return due.map(([, t]) => t.message)
  }
}
