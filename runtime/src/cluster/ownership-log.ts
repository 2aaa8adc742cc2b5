import type { JetStreamClient } from '@nats-io/jetstream'
import type { ClusterMemberOptions } from './cluster-member.ts'

/** One change of a shard's owner, as a node records it. */
export type OwnershipEvent =
  | { ev: 'acquire'; node: string; shard: number }
  | { ev: 'release'; node: string; shard: number; reason: string }

/**
 * Records a node's ownership changes on a JetStream subject, each stored before the node goes on: an
 * acquisition once the host has started on the shard, a hand-off once the host has let it go and before
 * the lease is deleted, a lost lease the moment the node stops acting for it. The stream's order is so
 * the order in which ownership really changed across nodes: what an audit (or a test) replays to check
 * that no shard ever had two owners.
 */
export function ownershipLog(
  js: JetStreamClient,
  subject: string,
  node: string,
  onError: (e: unknown, where: string) => void,
): Required<Pick<ClusterMemberOptions, 'onAcquire' | 'onRelease'>> {
  const record = async (e: OwnershipEvent): Promise<void> => {
    await js.publish(subject, JSON.stringify(e))
  }
  return {
    onAcquire: async (lease) => {
      await record({ ev: 'acquire', node, shard: lease.shard })
      // A lost lease ends ownership when its signal aborts, not when the clean-up runs.
      const onAbort = (): void => {
        if (lease.signal.reason !== 'lost') return
        // Often unrecordable: a lease is lost when the connection is. Readers treat a silent node as crashed.
        record({ ev: 'release', node, shard: lease.shard, reason: 'lost' }).catch((e: unknown) =>
          onError(e, `ownership log of lost shard ${lease.shard}`),
        )
      }
      if (lease.signal.aborted) onAbort()
      else lease.signal.addEventListener('abort', onAbort, { once: true })
    },
    onRelease: async (lease, reason) => {
      if (reason !== 'lost') await record({ ev: 'release', node, shard: lease.shard, reason })
    },
  }
}
