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

/** Replays the recorded stream and flags any moment at which a shard had two owners. */
export class OwnershipRecorder {
  readonly owners = new Map<number, string>()
  readonly violations: string[] = []
  readonly events: OwnershipEvent[] = []
  private readonly js: JetStreamClient
  private waiters: Array<() => void> = []
  private stopConsumer: (() => void) | undefined

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
      for await (const m of messages) r.apply(m.json<OwnershipEvent>())
    })()
    return r
  }

  callbacks(node: string): Pick<ClusterMemberOptions, 'onAcquire' | 'onRelease'> {
    return recordingCallbacks(this.js, this.subject, node)
  }

  async record(e: OwnershipEvent): Promise<void> {
    await this.js.publish(this.subject, JSON.stringify(e))
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

  private apply(e: OwnershipEvent): void {
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
