import { RuntimeError } from '../errors.ts'
import type { FlushRecord, RuntimeStore } from '../store.ts'
import type { ShardLease } from './shard-lease.ts'

/**
 * Keeps a node from committing flushes of a shard whose lease it no longer holds. The host's flush
 * commits several shards at once and acknowledges them only after the commit: refusing the whole record
 * (rather than dropping the lost shard's batches) keeps those batches unacknowledged, so the shard's next
 * owner replays them; the host retries the other shards' batches at its next interval, after the lost
 * shard has been removed. Applying records already committed is not fenced: it is idempotent, and any
 * node may finish it.
 *
 * A shard handing off (`rebalance`, `leave`) may still commit: its lease is held until the hand-off ends.
 * What this does not close: a commit that starts just before a lease runs out and lasts longer than the
 * lease's margin (one heartbeat) lands after another node may have started on the shard. Only a store
 * that compares the lease revision on write would close that.
 *
 * @example
 * const fence = new LeaseFence()
 * const host = new RuntimeHost({ store: fence.guard(store), shards: [], ... })
 * const node = await ClusterNode.join({ host, fence, ... })
 */
export class LeaseFence {
  private readonly leases = new Map<number, ShardLease>()
  private guarded = false

  /** The store to give the host: `store`, refusing commits that cover shards not held. */
  guard(store: RuntimeStore): RuntimeStore {
    this.guarded = true
    return {
      loadSnapshots: (refs) => store.loadSnapshots(refs),
      snapshotRefs: (shards) => store.snapshotRefs(shards),
      loadReminders: (shards) => store.loadReminders(shards),
      save: (changes, as) => store.save(changes, as),
      deadLetters: (limit) => store.deadLetters(limit),
      pending: () => store.pending(),
      applied: (record) => store.applied(record),
      positions: () => store.positions(),
      prune: (before) => store.prune(before),
      forgetApplied: () => store.forgetApplied(),
      commit: (record: FlushRecord): Promise<void> => {
        const foreign = record.positions.map(([s]) => s).filter((s) => !this.holds(s))
        if (foreign.length > 0) {
          return Promise.reject(
            new RuntimeError('RT_ERR_CLUSTER_LEASE_LOST', `shards ${foreign.join(', ')}; nothing committed`),
          )
        }
        return store.commit(record)
      },
    }
  }

  /** Whether a store has been guarded by this fence. */
  get inUse(): boolean {
    return this.guarded
  }

  hold(lease: ShardLease): void {
    this.leases.set(lease.shard, lease)
  }

  drop(lease: ShardLease): void {
    if (this.leases.get(lease.shard) === lease) this.leases.delete(lease.shard)
  }

  /** The node holds the shard's lease: acquired, and not lost (a hand-off still holds it). */
  holds(shard: number): boolean {
    const lease = this.leases.get(shard)
    return lease !== undefined && !(lease.signal.aborted && lease.signal.reason === 'lost')
  }
}
