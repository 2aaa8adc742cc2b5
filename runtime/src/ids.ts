declare const brand: unique symbol
/** A nominal type: a value of `T` that cannot be mixed with other ids of the same base type. */
export type Brand<T, B extends string> = T & { readonly [brand]: B }

/** Index of a shard in `[0, shardCount)`. */
export type ShardId = Brand<number, 'ShardId'>
/** The key of one actor inside its type. */
export type ActorKey = Brand<string, 'ActorKey'>
/** A position in a transport's stream (monotonic, gaps allowed). */
export type StreamSeq = Brand<number, 'StreamSeq'>

export const shardId = (n: number): ShardId => n as ShardId
export const actorKey = (s: string): ActorKey => s as ActorKey
export const streamSeq = (n: number): StreamSeq => n as StreamSeq

/**
 * Stable shard of an actor: FNV-1a over `type` and `key`, so the same actor lands on the same shard in
 * every process and every release. Changing this function moves every actor: never do it in place.
 *
 * @example shardOf('page', actorKey('site-1/pricing'), 64) // → a number in [0, 64)
 */
export function shardOf(type: string, key: ActorKey | string, shardCount: number): ShardId {
  let h = fnv1a(type)
  h ^= 0x1f
  h = Math.imul(h, 0x01000193)
  return (fnv1a(key, h) % shardCount) as ShardId
}

/**
 * 32-bit FNV-1a of `s`'s UTF-16 units, unsigned, from `seed` (FNV's offset basis unless given; a hash's
 * value continues one). Shards, hot-page splits, cluster placement and the snapshot filter hash with it:
 * changing it moves data between actors and shards.
 */
export function fnv1a(s: string, seed = 0x811c9dc5): number {
  let h = seed
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
