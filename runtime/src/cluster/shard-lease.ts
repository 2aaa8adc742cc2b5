import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream'
import type { KvWatchEntry } from '@nats-io/kv'
import type { ShardId } from '../ids.ts'

/** Why a node stops acting for a shard. */
export type ReleaseReason = 'rebalance' | 'leave' | 'lost'

/** A node's hold on one shard, as the host sees it. */
export interface ShardLease {
  readonly shard: ShardId
  /** KV revision of the lease; it rises with every renewal, so it can fence writes made under it. */
  readonly revision: number
  /**
   * Aborts, with the `ReleaseReason` as its reason, the moment the node must stop acting for the shard:
   * a hand-off begins, the node leaves, or the lease could not be renewed in time.
   */
  readonly signal: AbortSignal
}

/** The member's own record of a lease it holds. */
export class HeldLease implements ShardLease {
  revision: number
  /** Monotonic time after which the server may already have expired the lease. */
  validUntil: number
  readonly controller = new AbortController()
  deadline: NodeJS.Timeout | undefined
  renewing: Promise<void> | undefined
  /** `onAcquire` returned: the host is acting for the shard. */
  acquired = false
  releasing = false
  /** The delete is under way: renewals would only race it. */
  deleting = false

  constructor(
    readonly shard: ShardId,
    revision: number,
    validUntil: number,
  ) {
    this.revision = revision
    this.validUntil = validUntil
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }
}

export const leaseKey = (shard: number): string => `shard.${shard}`

export function shardOfLeaseKey(key: string): number | undefined {
  const m = /^shard\.(\d+)$/.exec(key)
  return m ? Number(m[1]) : undefined
}

/** The node named by a lease's value, as a watch of the leases bucket delivers it. */
export function leaseHolder(e: KvWatchEntry): string {
  try {
    return String((e.json() as { node: unknown }).node)
  } catch {
    return `unreadable lease value at revision ${e.revision}`
  }
}

/** The compare-and-set failed: someone else wrote the key since the revision we hold. */
export function isRevisionConflict(e: unknown): boolean {
  return (
    e instanceof JetStreamApiError &&
    (e.code === JetStreamApiCodes.StreamWrongLastSequence ||
      e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  )
}
