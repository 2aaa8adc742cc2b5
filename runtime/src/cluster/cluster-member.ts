import { performance } from 'node:perf_hooks'
import type { KV, KvWatchEntry } from '@nats-io/kv'
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node'
import { RuntimeError } from '../errors.ts'
import { type ShardId, shardId } from '../ids.ts'
import { openClusterBuckets } from './cluster-buckets.ts'
import { Membership } from './membership.ts'
import { placeShards } from './rendezvous.ts'
import {
  HeldLease,
  isRevisionConflict,
  leaseHolder,
  leaseKey,
  type ReleaseReason,
  type ShardLease,
  shardOfLeaseKey,
} from './shard-lease.ts'

export interface ClusterMemberOptions {
  connection: NatsConnection
  /** Names the cluster's KV buckets, `<cluster>_members` and `<cluster>_leases`; nodes of one cluster share it. */
  cluster: string
  /** Stable across restarts of the same node. */
  nodeId: string
  shardCount: number
  /** A silent node is gone, and its leases free, after this long. Every node of a cluster uses the same. */
  leaseMs?: number
  /** How often the node says it is alive and renews its leases. */
  heartbeatMs?: number
  /** Copies of the cluster's KV buckets on a clustered NATS (at most its server count); set on creation. */
  replicas?: number
  /**
   * The node now holds `lease.shard`: bind its consumer, start pulling. Throwing gives the lease back.
   * Watch `lease.signal`: it aborts when the node must stop acting for the shard.
   */
  onAcquire(lease: ShardLease): Promise<void>
  /**
   * The node gives the shard up: stop pulling, flush, snapshot. For `'rebalance'` and `'leave'` the lease
   * is still held until this resolves, so no other node starts on the shard meanwhile; for `'lost'` it
   * is already gone and another node may own the shard: write nothing more for it.
   */
  onRelease(lease: ShardLease, reason: ReleaseReason): Promise<void>
  onError?: (e: unknown, where: string) => void
}

interface ResolvedOptions extends Required<Omit<ClusterMemberOptions, 'connection'>> {}

const ID = /^[A-Za-z0-9_-]+$/

/**
 * One node's part in a cluster: membership by heartbeat in NATS KV, shard → node by rendezvous hashing
 * over the live members, and per-shard leases in KV taken by create and renewed by compare-and-set on
 * their revision, so two nodes never hold a shard at once. A node stops acting for a shard before its
 * lease can expire on the server: it counts the lease time from when it sent the last renewal.
 *
 * @example
 * const member = await ClusterMember.join({ connection, cluster: 'hm', nodeId: 'node-1', shardCount: 64,
 *   onAcquire: async (lease) => host.addShard(lease), onRelease: async (lease) => host.removeShard(lease.shard) })
 * process.on('SIGTERM', () => member.leave())
 */
export class ClusterMember {
  private readonly held = new Map<number, HeldLease>()
  private readonly chains = new Map<number, Promise<void>>()
  private readonly queued = new Set<string>()
  private readonly leaseOwners = new Map<number, string>()
  private readonly membership: Membership
  private leaseWatch: QueuedIterator<KvWatchEntry> | undefined
  private timer: NodeJS.Timeout | undefined
  private leaving: Promise<void> | undefined
  private stopped = false
  private readonly now = (): number => performance.now()

  private constructor(
    private readonly nc: NatsConnection,
    private readonly o: ResolvedOptions,
    private readonly leases: KV,
    members: KV,
  ) {
    this.membership = new Membership({
      kv: members,
      nodeId: o.nodeId,
      leaseMs: o.leaseMs,
      onChange: () => this.rebalance(),
      onError: o.onError,
      now: this.now,
    })
  }

  /** Opens (or creates) the cluster's buckets, registers this node and starts taking its shards. */
  static async join(options: ClusterMemberOptions): Promise<ClusterMember> {
    const o = resolve(options)
    const buckets = await openClusterBuckets(options.connection, o.cluster, o.leaseMs, o.replicas)
    const member = new ClusterMember(options.connection, o, buckets.leases, buckets.members)
    await member.start()
    return member
  }

  get nodeId(): string {
    return this.o.nodeId
  }

  /** Live members as this node sees them, sorted. */
  members(): string[] {
    const live = this.membership.live()
    if (this.leaving) return live.filter((m) => m !== this.o.nodeId)
    return live.includes(this.o.nodeId) ? live : [...live, this.o.nodeId].sort()
  }

  /** Shards this node holds and has started (`onAcquire` returned), ascending. */
  owned(): ShardId[] {
    return [...this.held.values()]
      .filter((h) => h.acquired && !h.signal.aborted)
      .map((h) => h.shard)
      .sort((a, b) => a - b)
  }

  /** Holder of each shard's lease as last seen in KV (expired leases of dead nodes linger until taken). */
  leaseHolders(): Map<ShardId, string> {
    return new Map([...this.leaseOwners].map(([s, n]) => [shardId(s), n]))
  }

  /** Where every shard should be over the current members (index = shard). */
  placement(): Array<string | undefined> {
    return placeShards(this.o.shardCount, this.members())
  }

  /** Graceful drain: leave the membership, hand every shard off (`onRelease` then delete), stop. */
  leave(): Promise<void> {
    this.leaving ??= (async () => {
      await this.membership.leave().catch((e: unknown) => this.o.onError(e, 'leave membership'))
      // Shards being acquired right now finish first, then go back: loop until nothing is held.
      while (this.held.size > 0 || this.chains.size > 0) {
        this.rebalance()
        await Promise.all([...this.chains.values()])
      }
      this.stop()
    })()
    return this.leaving
  }

  private async start(): Promise<void> {
    await this.membership.start()
    const watch = await this.leases.watch()
    this.leaseWatch = watch
    void (async () => {
      try {
        for await (const e of watch) {
          const shard = shardOfLeaseKey(e.key)
          if (shard === undefined) continue
          if (e.operation === 'PUT') {
            this.leaseOwners.set(shard, leaseHolder(e))
          } else {
            this.leaseOwners.delete(shard)
            // A hand-off just freed it: take it now rather than at the next heartbeat.
            if (this.placement()[shard] === this.o.nodeId) this.acquire(shard)
          }
        }
      } catch (e) {
        if (!this.stopped) this.o.onError(e, 'lease watch')
      }
    })()
    // A closed connection never renews again: act as if every lease ran out now, not at its deadline.
    void this.nc.closed().then(() => {
      if (this.stopped) return
      for (const h of [...this.held.values()]) this.lost(h)
      this.stop()
    })
    this.tick()
  }

  private stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    for (const h of this.held.values()) clearTimeout(h.deadline)
    this.membership.stop()
    this.leaseWatch?.stop()
  }

  private tick(): void {
    if (this.stopped) return
    if (!this.leaving) this.membership.heartbeat()
    for (const h of this.held.values()) this.renew(h)
    this.rebalance()
    this.timer = setTimeout(() => this.tick(), this.o.heartbeatMs)
  }

  private rebalance(): void {
    if (this.stopped) return
    const owners = this.placement()
    for (let s = 0; s < this.o.shardCount; s++) {
      const mine = owners[s] === this.o.nodeId
      const h = this.held.get(s)
      if (mine && h === undefined) this.acquire(s)
      else if (!mine && h?.acquired && !h.releasing) this.release(s, this.leaving ? 'leave' : 'rebalance')
    }
  }

  /** Runs `op` after every earlier operation on the same shard, once per kind while queued. */
  private enqueue(shard: number, kind: string, op: () => Promise<void>): void {
    const tag = `${kind}:${shard}`
    if (this.queued.has(tag)) return
    this.queued.add(tag)
    const next = (this.chains.get(shard) ?? Promise.resolve())
      .then(() => {
        this.queued.delete(tag)
        return op()
      })
      .catch((e: unknown) => this.o.onError(e, `${kind} shard ${shard}`))
      .finally(() => {
        if (this.chains.get(shard) === next) this.chains.delete(shard)
      })
    this.chains.set(shard, next)
  }

  private acquire(shard: number): void {
    this.enqueue(shard, 'acquire', async () => {
      if (this.stopped || this.leaving || this.held.has(shard)) return
      if (this.placement()[shard] !== this.o.nodeId) return
      const sentAt = this.now()
      let revision: number
      try {
        revision = await this.leases.create(leaseKey(shard), this.leaseValue())
      } catch (e) {
        // Still held by its previous owner (handing off, or dead and not yet expired): retried next beat.
        if (!isRevisionConflict(e)) this.o.onError(e, `acquire shard ${shard}`)
        return
      }
      const h = new HeldLease(shardId(shard), revision, sentAt + this.validity())
      this.held.set(shard, h)
      this.armDeadline(h)
      try {
        await this.o.onAcquire(h)
        h.acquired = true
      } catch (e) {
        this.o.onError(e, `onAcquire shard ${shard}`)
        if (this.held.get(shard) === h) await this.giveBack(h, 'rebalance')
      }
    })
  }

  private release(shard: number, reason: ReleaseReason): void {
    this.enqueue(shard, 'release', async () => {
      const h = this.held.get(shard)
      if (h === undefined || !h.acquired || h.releasing) return
      if (reason === 'rebalance' && !this.leaving && this.placement()[shard] === this.o.nodeId) return
      h.releasing = true
      h.controller.abort(reason)
      try {
        await this.o.onRelease(h, reason)
      } catch (e) {
        // The lease goes back anyway: what was not flushed was not acknowledged, so the next owner replays it.
        this.o.onError(e, `onRelease shard ${shard}`)
      }
      if (this.held.get(shard) === h) await this.giveBack(h, reason)
    })
  }

  private async giveBack(h: HeldLease, reason: ReleaseReason): Promise<void> {
    h.deleting = true
    await h.renewing
    if (this.held.get(h.shard) !== h) return
    this.held.delete(h.shard)
    clearTimeout(h.deadline)
    h.controller.abort(reason)
    try {
      await this.leases.delete(leaseKey(h.shard), { previousSeq: h.revision })
    } catch (e) {
      if (!isRevisionConflict(e)) this.o.onError(e, `release lease of shard ${h.shard}`)
    }
  }

  private renew(h: HeldLease): void {
    if (h.renewing || h.deleting) return
    const sentAt = this.now()
    h.renewing = this.leases
      .update(leaseKey(h.shard), this.leaseValue(), h.revision)
      .then(
        (revision) => {
          if (this.held.get(h.shard) !== h) {
            // Declared lost while the renewal was out: the host already stopped, so give it back.
            void this.leases.delete(leaseKey(h.shard), { previousSeq: revision }).catch(() => undefined)
            return
          }
          h.revision = revision
          h.validUntil = sentAt + this.validity()
          this.armDeadline(h)
        },
        (e: unknown) => {
          if (this.held.get(h.shard) !== h) return
          if (isRevisionConflict(e)) this.lost(h)
          else this.o.onError(e, `renew lease of shard ${h.shard}`)
        },
      )
      .finally(() => {
        h.renewing = undefined
      })
  }

  private armDeadline(h: HeldLease): void {
    clearTimeout(h.deadline)
    h.deadline = setTimeout(
      () => {
        if (this.held.get(h.shard) === h && this.now() >= h.validUntil) this.lost(h)
        else if (this.held.get(h.shard) === h) this.armDeadline(h)
      },
      Math.max(0, h.validUntil - this.now()),
    )
  }

  /** The lease may be gone on the server: stop acting at once, then let the host clean up. */
  private lost(h: HeldLease): void {
    this.held.delete(h.shard)
    clearTimeout(h.deadline)
    h.controller.abort('lost')
    this.enqueue(h.shard, 'lost', async () => {
      if (h.acquired) await this.o.onRelease(h, 'lost')
    })
  }

  /** The lease expires `leaseMs` after the server stored it; stop one heartbeat earlier than that. */
  private validity(): number {
    return this.o.leaseMs - this.o.heartbeatMs
  }

  private leaseValue(): string {
    return JSON.stringify({ node: this.o.nodeId })
  }
}

function resolve(o: ClusterMemberOptions): ResolvedOptions {
  const leaseMs = o.leaseMs ?? 10_000
  const r: ResolvedOptions = {
    cluster: o.cluster,
    nodeId: o.nodeId,
    shardCount: o.shardCount,
    leaseMs,
    heartbeatMs: o.heartbeatMs ?? Math.floor(leaseMs / 5),
    replicas: o.replicas ?? 1,
    onAcquire: o.onAcquire,
    onRelease: o.onRelease,
    onError: o.onError ?? ((e, where) => console.error(`[cluster] ${where}:`, e)),
  }
  if (!ID.test(r.cluster))
    throw new RuntimeError('RT_ERR_BAD_OPTION', `cluster=${r.cluster} (letters, digits, - and _)`)
  if (!ID.test(r.nodeId))
    throw new RuntimeError('RT_ERR_BAD_OPTION', `nodeId=${r.nodeId} (letters, digits, - and _)`)
  if (!Number.isInteger(r.shardCount) || r.shardCount < 1 || r.shardCount > 65535) {
    throw new RuntimeError('RT_ERR_BAD_OPTION', `shardCount=${r.shardCount}`)
  }
  if (!Number.isInteger(r.leaseMs) || r.leaseMs < 500) {
    throw new RuntimeError('RT_ERR_BAD_OPTION', `leaseMs=${r.leaseMs} (an integer, at least 500)`)
  }
  if (!Number.isInteger(r.replicas) || r.replicas < 1 || r.replicas > 5) {
    throw new RuntimeError('RT_ERR_BAD_OPTION', `replicas=${r.replicas} (an integer from 1 to 5)`)
  }
  if (!Number.isInteger(r.heartbeatMs) || r.heartbeatMs < 10 || r.heartbeatMs * 3 > r.leaseMs) {
    throw new RuntimeError(
      'RT_ERR_BAD_OPTION',
      `heartbeatMs=${r.heartbeatMs} (an integer, at most a third of leaseMs)`,
    )
  }
  return r
}
