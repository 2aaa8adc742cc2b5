import type { KV, KvWatchEntry } from '@nats-io/kv'
import type { QueuedIterator } from '@nats-io/transport-node'

export interface MembershipOptions {
  kv: KV
  nodeId: string
  /** A member unheard of for this long is gone (also the bucket's max age: its heartbeat key expires). */
  leaseMs: number
  /** Called when a member appears or leaves explicitly; silent deaths surface in `live()`. */
  onChange: () => void
  onError: (e: unknown, where: string) => void
  now: () => number
  /** `false`: only watch who the members are, never count as one (a gateway-only process). */
  register?: boolean
}

/**
 * Who is in the cluster: each node puts its key every heartbeat; a watch records when each member was
 * last heard of. A 2.9 server expires keys by the bucket's max age without telling watchers, so a dead
 * member is dropped by age here, not by an event.
 */
export class Membership {
  private readonly lastSeen = new Map<string, number>()
  private watcher: QueuedIterator<KvWatchEntry> | undefined
  private beating: Promise<void> | undefined
  private readonly startedAt = Date.now()

  constructor(private readonly o: MembershipOptions) {}

  /** Registers this node and resolves once every member already registered is known. */
  async start(): Promise<void> {
    if (this.o.register !== false) await this.put()
    const watcher = await this.o.kv.watch()
    this.watcher = watcher
    let loaded!: () => void
    const initial = new Promise<void>((r) => (loaded = r))
    void (async () => {
      try {
        for await (const e of watcher) {
          if (e.operation === 'PUT') {
            const known = this.lastSeen.has(e.key)
            this.lastSeen.set(e.key, this.o.now())
            if (!known) this.o.onChange()
          } else if (this.lastSeen.delete(e.key)) {
            this.o.onChange()
          }
          if (e.isUpdate) loaded()
        }
      } catch (err) {
        this.o.onError(err, 'membership watch')
      } finally {
        loaded()
      }
    })()
    // A node's own key makes the first update; an observer of an empty bucket would wait for none.
    if (this.o.register === false && (await this.o.kv.status()).values === 0) loaded()
    await initial
  }

  /** Refreshes this node's key; a failure is reported, and the next heartbeat tries again. */
  heartbeat(): void {
    if (this.beating || this.o.register === false) return
    this.beating = this.put()
      .catch((e: unknown) => this.o.onError(e, 'heartbeat'))
      .finally(() => {
        this.beating = undefined
      })
  }

  /** Members heard of within the lease time, sorted. */
  live(): string[] {
    const horizon = this.o.now() - this.o.leaseMs
    const out: string[] = []
    for (const [id, seen] of this.lastSeen) if (seen >= horizon) out.push(id)
    return out.sort()
  }

  /** Removes this node's key so the others stop counting on it at once, not after the lease time. */
  async leave(): Promise<void> {
    if (this.o.register === false) return
    await this.beating
    await this.o.kv.delete(this.o.nodeId)
  }

  stop(): void {
    this.watcher?.stop()
  }

  private async put(): Promise<void> {
    await this.o.kv.put(this.o.nodeId, JSON.stringify({ node: this.o.nodeId, startedAt: this.startedAt }))
  }
}
