import { type JetStreamClient, jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import type { ClusterMemberOptions } from '../../src/index.ts'

export type OwnershipEvent =
  | { ev: 'acquire'; node: string; shard: number }
  | { ev: 'release'; node: string; shard: number; reason: string }
  | { ev: 'crash'; node: string }

/**
 * The callbacks a member runs in these tests: each ownership change is stored in a JetStream stream
 * before the member goes on (an acquisition after the lease is taken, a hand-off before the lease is
 * deleted), so the stream's order is the order in which ownership really changed, across processes.
 */
export function recordingCallbacks(
  js: JetStreamClient,
  subject: string,
  node: string,
): Pick<ClusterMemberOptions, 'onAcquire' | 'onRelease'> {
  const record = async (e: OwnershipEvent): Promise<void> => {
    await js.publish(subject, JSON.stringify(e))
  }
  return {
    onAcquire: async (lease) => {
      await record({ ev: 'acquire', node, shard: lease.shard })
      // A lost lease ends ownership when the signal aborts, not when the clean-up callback runs.
      const onAbort = (): void => {
        if (lease.signal.reason === 'lost') {
          void record({ ev: 'release', node, shard: lease.shard, reason: 'lost' })
        }
      }
      if (lease.signal.aborted) onAbort()
      else lease.signal.addEventListener('abort', onAbort, { once: true })
    },
    onRelease: async (lease, reason) => {
      if (reason === 'lost') return
      // A host flushes and snapshots here: let the hand-off take a little while.
      await new Promise((r) => setTimeout(r, Math.random() * 20))
      await record({ ev: 'release', node, shard: lease.shard, reason })
    },
  }
}

/** An event as the stream stored it: `at` is when the server stored it (ms since the epoch, fractional). */
export type RecordedEvent = OwnershipEvent & { at: number }

/** Replays the recorded stream and flags any moment at which a shard had two owners. */
export class OwnershipRecorder {
  readonly owners = new Map<number, string>()
  readonly violations: string[] = []
  readonly events: RecordedEvent[] = []
  private readonly js: JetStreamClient
  private waiters: Array<() => void> = []
  private stopConsumer: (() => void) | undefined
  private outageMark: { at: number; nodes: string[] } | undefined

  private constructor(
    private readonly nc: NatsConnection,
    readonly stream: string,
    readonly subject: string,
  ) {
    this.js = jetstream(nc)
  }

  static async create(nc: NatsConnection, stream: string, subject: string): Promise<OwnershipRecorder> {
    const jsm = await jetstreamManager(nc)
    await jsm.streams.add({ name: stream, subjects: [subject] })
    const r = new OwnershipRecorder(nc, stream, subject)
    const consumer = await r.js.consumers.get(stream)
    const messages = await consumer.consume()
    r.stopConsumer = () => messages.stop()
    void (async () => {
      for await (const m of messages) r.apply(m.json<OwnershipEvent>(), Number(m.timestampNanos) / 1e6)
    })()
    return r
  }

  callbacks(node: string): Pick<ClusterMemberOptions, 'onAcquire' | 'onRelease'> {
    return recordingCallbacks(this.js, this.subject, node)
  }

  async record(e: OwnershipEvent): Promise<void> {
    await this.js.publish(this.subject, JSON.stringify(e))
  }

  /**
   * The NATS server these nodes and this stream share went down, and every one of `nodes` has since
   * stopped acting for all its shards (their leases ran out) without being able to record it. They are
   * taken as crashed before the first event the server stores from now on, whatever order the recorder
   * happens to read the stream in. Call it while the server is down, once the nodes have let go.
   */
  outage(nodes: string[]): void {
    this.outageMark = { at: Date.now(), nodes }
  }

  count(ev: OwnershipEvent['ev']): number {
    return this.events.filter((e) => e.ev === ev).length
  }

  /** Resolves once `done()` holds over what has been recorded. */
  async until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((r) => this.waiters.push(r))
  }

  async destroy(): Promise<void> {
    this.stopConsumer?.()
    const jsm = await jetstreamManager(this.nc)
    await jsm.streams.delete(this.stream).catch(() => undefined)
  }

  private apply(event: OwnershipEvent, at: number): void {
    const mark = this.outageMark
    if (mark !== undefined && at >= mark.at) {
      this.outageMark = undefined
      for (const node of mark.nodes) this.apply({ ev: 'crash', node }, mark.at)
    }
    const e: RecordedEvent = { ...event, at }
    this.events.push(e)
    if (e.ev === 'acquire') {
      const holder = this.owners.get(e.shard)
      if (holder !== undefined)
        this.violations.push(`shard ${e.shard} taken by ${e.node} while ${holder} held it`)
      this.owners.set(e.shard, e.node)
    } else if (e.ev === 'release') {
      const holder = this.owners.get(e.shard)
      if (holder !== e.node)
        this.violations.push(`shard ${e.shard} released by ${e.node} but held by ${holder}`)
      else this.owners.delete(e.shard)
    } else {
      for (const [s, n] of this.owners) if (n === e.node) this.owners.delete(s)
    }
    for (const w of this.waiters.splice(0)) w()
  }
}
