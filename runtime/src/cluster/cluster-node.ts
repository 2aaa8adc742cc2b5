import { jetstream } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import { RuntimeError } from '../errors.ts'
import type { RuntimeHost } from '../host/main.ts'
import type { Watch } from '../host/options.ts'
import type { ShardId } from '../ids.ts'
import { ClusterMember, type ClusterMemberOptions } from './cluster-member.ts'
import type { LeaseFence } from './lease-fence.ts'
import { serveNodeStats } from './node-stats.ts'
import { ownershipLog } from './ownership-log.ts'
import { RemoteActors } from './remote-actors.ts'
import type { ReleaseReason, ShardLease } from './shard-lease.ts'

export interface ClusterNodeOptions {
  /** Started, with `shards: []`, its store guarded by `fence`. */
  host: RuntimeHost
  fence: LeaseFence
  connection: NatsConnection
  cluster: string
  nodeId: string
  leaseMs?: number
  heartbeatMs?: number
  /** Copies of the cluster's KV buckets on a clustered NATS (see `ClusterMemberOptions.replicas`). */
  replicas?: number
  /**
   * Told of each change of ownership: once the lease is taken and before the host starts on the shard, and
   * after the host gave one up (for a hand-off, before the lease is deleted). A lost lease is told by the
   * lease's signal. For observers: what it throws is reported, not acted on.
   */
  observer?: Partial<Pick<ClusterMemberOptions, 'onAcquire' | 'onRelease'>>
  /** A JetStream subject (a stream must capture it) to record this node's ownership changes on. */
  ownershipSubject?: string
  onError?: (e: unknown, where: string) => void
}

/** What `/v1/cluster` shows of a node. */
export interface ClusterStatus {
  nodeId: string
  /** Live members as this node sees them. */
  members: string[]
  /** Shards this node's host pulls now. */
  shards: ShardId[]
  /** Where every shard should be over the live members (index = shard). */
  placement: Array<string | null>
  /** Holder of each shard's lease as last seen in KV (index = shard; null: free). */
  leaseHolders: Array<string | null>
}

/**
 * A runtime node of a cluster: joins the membership and gives the host the shards whose leases it takes.
 * A hand-off (another node joined, or this one leaves) writes and acknowledges everything of the shard
 * before the lease goes, so the next owner starts where this one ended; a lost lease drops the shard at
 * once without committing, and the next owner replays from the applied position. Asks and live topics
 * reach actors on whichever node owns them (`ask`, `watch`).
 *
 * @example
 * const fence = new LeaseFence()
 * const host = new RuntimeHost({ transport, sink, store: fence.guard(store), shards: [], shardCount: 64, workerFile })
 * await host.start()
 * const node = await ClusterNode.join({ host, fence, connection, cluster: 'hm', nodeId: 'node-1' })
 * process.once('SIGTERM', () => void node.drain().then(() => process.exit(0)))
 */
export class ClusterNode {
  private draining: Promise<void> | undefined

  private constructor(
    readonly member: ClusterMember,
    private readonly host: RuntimeHost,
    private readonly remote: RemoteActors,
    /** Answers `rt.stats.<cluster>` (see `gatherNodeStats`). */
    private readonly statsAnswer: { close(): void },
  ) {}

  static async join(options: ClusterNodeOptions): Promise<ClusterNode> {
    const { host, fence } = options
    if (!fence.inUse) {
      throw new RuntimeError(
        'RT_ERR_BAD_OPTION',
        "fence: the host's store must be guarded by it (fence.guard(store))",
      )
    }
    if (host.shards().length > 0) {
      throw new RuntimeError(
        'RT_ERR_BAD_OPTION',
        `host already pulls shards ${host.shards().join(', ')}; a cluster node's host starts with shards: []`,
      )
    }
    if (options.ownershipSubject !== undefined && options.observer !== undefined) {
      throw new RuntimeError('RT_ERR_BAD_OPTION', 'observer and ownershipSubject: give one of them')
    }
    const onError = options.onError ?? ((e, where) => console.error(`[cluster] ${where}:`, e))
    const observer =
      options.ownershipSubject === undefined
        ? options.observer
        : ownershipLog(jetstream(options.connection), options.ownershipSubject, options.nodeId, onError)
    const observe = async (where: string, f: (() => Promise<void>) | undefined): Promise<void> => {
      try {
        await f?.()
      } catch (e) {
        onError(e, `observer ${where}`)
      }
    }
    const remote = new RemoteActors(options.connection, options.cluster, options.nodeId, host, onError)
    const member = await ClusterMember.join({
      connection: options.connection,
      cluster: options.cluster,
      nodeId: options.nodeId,
      shardCount: host.options.shardCount,
      leaseMs: options.leaseMs,
      heartbeatMs: options.heartbeatMs,
      replicas: options.replicas,
      onError,
      onAcquire: async (lease: ShardLease) => {
        // Told before the host acts, so an observer's record of ownership covers all of it.
        await observe(`acquire shard ${lease.shard}`, () => observer?.onAcquire?.(lease) ?? Promise.resolve())
        fence.hold(lease)
        try {
          await host.addShard(lease.shard)
        } catch (e) {
          fence.drop(lease)
          // The member gives the lease back.
          await observe(`release shard ${lease.shard}`, () =>
            lease.signal.aborted
              ? Promise.resolve()
              : (observer?.onRelease?.(lease, 'rebalance') ?? Promise.resolve()),
          )
          throw e
        }
        if (lease.signal.reason === 'lost') {
          // Lost while starting: the member calls onRelease only for shards whose onAcquire returned.
          await host.removeShard(lease.shard, { flush: false })
          fence.drop(lease)
          throw new RuntimeError(
            'RT_ERR_CLUSTER_LEASE_LOST',
            `shard ${lease.shard}, while it was being added`,
          )
        }
        remote.serve(lease.shard)
      },
      onRelease: async (lease: ShardLease, reason: ReleaseReason) => {
        remote.unserve(lease.shard)
        try {
          const written = await host.removeShard(lease.shard, { flush: reason !== 'lost' })
          if (!written && reason !== 'lost') {
            // Not acknowledged either: the next owner replays what this node could not write.
            onError(new Error(`shard ${lease.shard} handed off with unwritten batches`), 'hand-off')
          }
        } finally {
          fence.drop(lease)
        }
        await observe(
          `release shard ${lease.shard}`,
          () => observer?.onRelease?.(lease, reason) ?? Promise.resolve(),
        )
      },
    })
    const statsAnswer = serveNodeStats({
      connection: options.connection,
      cluster: options.cluster,
      nodeId: options.nodeId,
      host,
      onError,
    })
    return new ClusterNode(member, host, remote, statsAnswer)
  }

  /**
   * Asks an actor wherever its shard is owned (this node's host, or the owner over NATS).
   *
   * @example
   * const cells = await node.ask<number[][]>('page', 'site /pricing 0', { type: 'click' })
   */
  ask<R = unknown>(type: string, key: string, request: unknown): Promise<R> {
    return this.remote.ask<R>(type, key, request)
  }

  /** Watches a live topic on every node of the cluster (actors publish only while someone watches). */
  watch(topic: string, listener: (payload: unknown) => void): Watch {
    return this.remote.watch(topic, listener)
  }

  get nodeId(): string {
    return this.member.nodeId
  }

  status(): ClusterStatus {
    const holders = this.member.leaseHolders()
    return {
      nodeId: this.member.nodeId,
      members: this.member.members(),
      shards: this.host.shards().sort((a, b) => a - b),
      placement: this.member.placement().map((n) => n ?? null),
      leaseHolders: Array.from(
        { length: this.host.options.shardCount },
        (_, s) => holders.get(s as ShardId) ?? null,
      ),
    }
  }

  /**
   * Graceful drain (SIGTERM): leaves the membership, hands every shard off through the host (written and
   * acknowledged before its lease goes), then stops the host. The connection stays the caller's.
   */
  drain(): Promise<void> {
    this.draining ??= (async () => {
      await this.member.leave()
      this.remote.close()
      this.statsAnswer.close()
      await this.host.stop()
    })()
    return this.draining
  }
}

/**
 * The NATS connection a node shares between its transport and its membership. It reconnects forever: a
 * NATS restart must not end the node (leases it could not renew meanwhile are lost and taken again).
 */
export function connectCluster(servers: string | string[], name: string): Promise<NatsConnection> {
  return connect({ servers, name, maxReconnectAttempts: -1 })
}
