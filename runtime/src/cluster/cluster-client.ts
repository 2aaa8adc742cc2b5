import type { KvWatchEntry } from '@nats-io/kv'
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node'
import type { Watch } from '../host/options.ts'
import { shardId } from '../ids.ts'
import { openClusterBuckets } from './cluster-buckets.ts'
import type { ClusterStatus } from './cluster-node.ts'
import { Membership } from './membership.ts'
import { noLocalActors, RemoteActors } from './remote-actors.ts'
import { placeShards } from './rendezvous.ts'
import { leaseHolder, shardOfLeaseKey } from './shard-lease.ts'

export interface ClusterClientOptions {
  connection: NatsConnection
  cluster: string
  /** Names this process in interest announcements and in `status()`; it never becomes a member. */
  nodeId: string
  shardCount: number
  /** The cluster's lease time: the buckets are opened (or created) with it, as its nodes do. */
  leaseMs?: number
  replicas?: number
  askTimeoutMs?: number
  onError?: (e: unknown, where: string) => void
}

/**
 * A process that calls the cluster's actors without hosting any (a gateway-only node): asks go to the
 * shard's owner over NATS, live topics are heard from whichever nodes publish them, and it watches the
 * members and leases to show where shards are. It takes no lease and is not counted in placement.
 *
 * @example
 * const client = await ClusterClient.open({ connection, cluster: 'hm', nodeId: 'gw-1', shardCount: 64 })
 * const cells = await client.ask('page', 'site /pricing 0', { type: 'click' })
 */
export class ClusterClient {
  private readonly holders = new Map<number, string>()

  private constructor(
    private readonly o: ClusterClientOptions,
    private readonly membership: Membership,
    private readonly leaseWatch: QueuedIterator<KvWatchEntry>,
    private readonly remote: RemoteActors,
  ) {}

  static async open(o: ClusterClientOptions): Promise<ClusterClient> {
    const onError = o.onError ?? ((e, where) => console.error(`[cluster] ${where}:`, e))
    const leaseMs = o.leaseMs ?? 10_000
    const buckets = await openClusterBuckets(o.connection, o.cluster, leaseMs, o.replicas)
    const membership = new Membership({
      kv: buckets.members,
      nodeId: o.nodeId,
      leaseMs,
      register: false,
      onChange: () => {},
      onError,
      now: () => performance.now(),
    })
    await membership.start()
    const leaseWatch = await buckets.leases.watch()
    const remote = new RemoteActors(
      o.connection,
      o.cluster,
      o.nodeId,
      noLocalActors({ shardCount: o.shardCount, askTimeoutMs: o.askTimeoutMs }),
      onError,
    )
    const client = new ClusterClient({ ...o, leaseMs, onError }, membership, leaseWatch, remote)
    void (async () => {
      try {
        for await (const e of leaseWatch) {
          const shard = shardOfLeaseKey(e.key)
          if (shard === undefined) continue
          if (e.operation === 'PUT') client.holders.set(shard, leaseHolder(e))
          else client.holders.delete(shard)
        }
      } catch (e) {
        onError(e, 'lease watch')
      }
    })()
    return client
  }

  /** Asks an actor on the node that owns its shard. */
  ask<R = unknown>(type: string, key: string, request: unknown): Promise<R> {
    return this.remote.ask<R>(type, key, request)
  }

  /** Watches a live topic on every node. */
  watch(topic: string, listener: (payload: unknown) => void): Watch {
    return this.remote.watch(topic, listener)
  }

  /** The cluster as this process sees it; it pulls no shard itself. */
  status(): ClusterStatus {
    const members = this.membership.live()
    return {
      nodeId: this.o.nodeId,
      members,
      shards: [],
      placement: placeShards(this.o.shardCount, members).map((n) => n ?? null),
      leaseHolders: Array.from({ length: this.o.shardCount }, (_, s) => this.holders.get(shardId(s)) ?? null),
    }
  }

  /** Stops watching and answering; the connection stays the caller's. */
  close(): void {
    this.remote.close()
    this.leaseWatch.stop()
    this.membership.stop()
  }
}
