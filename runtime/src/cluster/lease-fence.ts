import { RuntimeError } from '../errors.ts'
import type { FlushBatch, FlushSink } from '../host/main.ts'
import type { ShardId, StreamSeq } from '../ids.ts'
import type { ShardLease } from './shard-lease.ts'

/**
 * Keeps a node's sink from writing for a shard whose lease it no longer holds. The host's flush writes
 * several shards at once and acknowledges them only after the write: refusing the whole write (rather
 * than dropping the lost shard's batches) keeps those batches unacknowledged, so the shard's next owner
 * replays them; the host retries the other shards' batches at its next interval, after the lost shard
 * has been removed.
 *
 * A shard handing off (`rebalance`, `leave`) may still write: its lease is held until the hand-off ends.
 * What this does not close: a write that starts just before a lease runs out and lasts longer than the
 * lease's margin (one heartbeat) lands after another node may have started on the shard. Only a store
 * that compares the lease revision on write would close that.
 *
 * @example
 * const fence = new LeaseFence()
 * const host = new RuntimeHost({ sink: fence.guard(sink), shards: [], ... })
 * const node = await ClusterNode.join({ host, fence, ... })
 */
export class LeaseFence {
  private readonly leases = new Map<number, ShardLease>()
  private guarded = false

  /** The sink to give the host: `sink`, refusing writes for shards not held. */
  guard(sink: FlushSink): FlushSink {
    this.guarded = true
    return {
      positions: (): Promise<Map<ShardId, StreamSeq>> => sink.positions(),
      write: (batches: readonly FlushBatch[]): Promise<void> => {
        const foreign = [...new Set(batches.map((b) => b.shard))].filter((s) => !this.holds(s))
        if (foreign.length > 0) {
          return Promise.reject(
            new RuntimeError('RT_ERR_CLUSTER_LEASE_LOST', `shards ${foreign.join(', ')}; nothing written`),
          )
        }
        return sink.write(batches)
      },
    }
  }

  /** Whether a sink has been guarded by this fence. */
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
