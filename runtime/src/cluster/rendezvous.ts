import { fnv1a, type ShardId } from '../ids.ts'

/**
 * Weight of `member` for `shard`: FNV-1a over both, then the murmur3 finaliser so that ids differing in
 * one character still spread evenly. Changing it moves shards between live nodes: never do it in place.
 */
function weight(member: string, shard: number): number {
  let h = fnv1a(member)
  for (let s = shard + 1; s > 0; s = Math.floor(s / 256)) {
    h ^= 0x100 | (s % 256)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * The member that should own `shard` (highest random weight): every node computes the same answer from
 * the same member list, and a join or leave changes only the shards the newcomer wins or the leaver had.
 *
 * @example rendezvousOwner(shardId(7), ['node-a', 'node-b']) // → 'node-a' or 'node-b', the same everywhere
 */
export function rendezvousOwner(shard: ShardId | number, members: readonly string[]): string | undefined {
  let best: string | undefined
  let bestWeight = -1
  for (const m of members) {
    const w = weight(m, shard)
    if (w > bestWeight || (w === bestWeight && best !== undefined && m < best)) {
      best = m
      bestWeight = w
    }
  }
  return best
}

/** The owner of every shard `0 … shardCount-1` over `members` (index = shard). */
export function placeShards(shardCount: number, members: readonly string[]): Array<string | undefined> {
  return Array.from({ length: shardCount }, (_, s) => rendezvousOwner(s, members))
}
