import { type KV, Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import { RuntimeError } from '../errors.ts'

export interface ClusterBuckets {
  /** `<cluster>_members`: one heartbeat key per live node. */
  members: KV
  /** `<cluster>_leases`: one key per held shard. */
  leases: KV
}

/**
 * Opens the cluster's two KV buckets, creating them on first use with the lease time as their max age
 * (a 2.9 server ignores per-key TTLs) and `replicas` copies on a clustered NATS. A bucket that exists
 * with another max age belongs to nodes using another lease time: refused, since their leases would
 * outlive or undercut this node's.
 */
export async function openClusterBuckets(
  connection: NatsConnection,
  cluster: string,
  leaseMs: number,
  replicas = 1,
): Promise<ClusterBuckets> {
  const kvm = new Kvm(connection)
  const open = async (name: string): Promise<KV> => {
    let kv: KV
    for (let attempt = 1; ; attempt++) {
      try {
        kv = await kvm.create(name, { history: 1, ttl: leaseMs, replicas })
        break
      } catch (e) {
        // Nodes starting together create the bucket at once; the server refuses all but one ("subjects
        // overlap with an existing stream"), and the bucket is there to open a moment later.
        if (attempt >= 10 || !/subjects overlap|already in use/i.test(String((e as Error).message))) throw e
        await new Promise((r) => setTimeout(r, 50 * attempt))
      }
    }
    const ttl = (await kv.status()).ttl
    if (ttl !== leaseMs) {
      throw new RuntimeError(
        'RT_ERR_CLUSTER_LEASE_MISMATCH',
        `bucket ${name} expires after ${ttl} ms, this node uses ${leaseMs} ms`,
      )
    }
    return kv
  }
  return { leases: await open(`${cluster}_leases`), members: await open(`${cluster}_members`) }
}
