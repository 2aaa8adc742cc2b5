import { fnv1a } from '../ids.ts'
import type { ActorRef } from '../store.ts'

/** Bits of the filter: 4 MiB, under 1 % false positives up to about three million actors with snapshots. */
const BITS = 2 ** 25
const HASHES = 5

/**
 * Which actors may have a snapshot anywhere (the store, the host's unwritten flushes, a worker): a Bloom
 * filter in memory the host and its workers share. The host adds what the store holds for a shard it
 * takes; a worker adds every snapshot it takes, before the snapshot leaves it. An actor the filter has
 * never seen (a new session, say) is then activated without asking the host or the store. A false
 * positive costs one lookup; a deleted snapshot stays in the filter until the next start, which only
 * costs lookups too.
 */
export class SnapshotIndex {
  private readonly bits: Int32Array

  /** A new filter, or a view of one another thread created (`buffer`). */
  constructor(readonly buffer = new SharedArrayBuffer(BITS / 8)) {
    this.bits = new Int32Array(buffer)
  }

  add(ref: ActorRef): void {
    this.each(ref, (bit) => {
      // Atomic: the host and a worker may set bits of the same word at once.
      Atomics.or(this.bits, bit >>> 5, 1 << (bit & 31))
      return true
    })
  }

  /** False only when no snapshot of `ref` was added, by this thread or by one that told it since. */
  mayHave(ref: ActorRef): boolean {
    return this.each(ref, (bit) => (this.bits[bit >>> 5]! & (1 << (bit & 31))) !== 0)
  }

  /** Visits the ref's bits (double hashing) while `visit` says go on; whether it went through all. */
  private each(ref: ActorRef, visit: (bit: number) => boolean): boolean {
    const s = `${ref.type}\u0000${ref.key}`
    const h1 = fnv1a(s, 0x811c9dc5)
    const h2 = fnv1a(s, 0x01000193) | 1
    for (let i = 0; i < HASHES; i++) if (!visit(((h1 + Math.imul(i, h2)) >>> 0) & (BITS - 1))) return false
    return true
  }
}
