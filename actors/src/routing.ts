import { type Envelope, encodeEnvelopes, type ShardId, shardOf } from '@hm/runtime'
import { PAGE_ACTOR, type PageEvent, type PageMessage, pageActorKey } from './page-actor.ts'
import type { WireEvent } from './wire.ts'

/** Who sent a batch, as the gateway established it. */
export interface BatchContext {
  siteId: string
  visitorId: string
  sessionId: string
}

/** An accepted event: validated, privacy rules applied, its URL normalised to the page it belongs to. */
export type AcceptedEvent = WireEvent & { page: string }

/** One stream message: the envelopes of one shard, encoded. */
export interface ShardPayload {
  shard: ShardId
  data: Uint8Array
}

/**
 * Splits a batch into one stream message per shard, one envelope per actor: a page's events go to its
 * page actor, so a busy site spreads over every shard (and so every worker) through its pages. The
 * split depends only on the batch, so a retried batch maps to the same messages (and message ids).
 */
export function routeBatch(
  ctx: BatchContext,
  events: readonly AcceptedEvent[],
  shardCount: number,
): ShardPayload[] {
  const byPage = new Map<string, PageEvent[]>()
  for (const { page, url: _url, ...e } of events) {
    const list = byPage.get(page)
    if (list === undefined) byPage.set(page, [e as PageEvent])
    else list.push(e as PageEvent)
  }
  const byShard = new Map<ShardId, Envelope[]>()
  for (const [page, list] of byPage) {
    const key = pageActorKey(ctx.siteId, page)
    const shard = shardOf(PAGE_ACTOR, key, shardCount)
    const message: PageMessage = { events: list }
    const envs = byShard.get(shard)
    if (envs === undefined) byShard.set(shard, [[PAGE_ACTOR, key, message]])
    else envs.push([PAGE_ACTOR, key, message])
  }
  return [...byShard].map(([shard, envs]) => ({ shard, data: encodeEnvelopes(envs) }))
}
