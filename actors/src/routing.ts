import { type Envelope, encodeEnvelopes, type ShardId, shardOf } from '@hm/runtime'
import { PAGE_ACTOR, type PageEvent, type PageMessage, pageActorKey } from './page-actor.ts'

/** An accepted event of one site, attributed to its normalised page. */
export interface SiteEvent extends PageEvent {
  page: string
}

/** One stream message: the envelopes of one shard, encoded. */
export interface ShardPayload {
  shard: ShardId
  data: Uint8Array
}

/**
 * Splits a batch of a site's events into one stream message per shard, one envelope per page: a busy
 * site spreads over every shard (and so every worker) through its pages.
 */
export function routeSiteEvents(
  siteId: string,
  events: readonly SiteEvent[],
  shardCount: number,
): ShardPayload[] {
  const byPage = new Map<string, PageEvent[]>()
  for (const { page, ...e } of events) {
    const list = byPage.get(page)
    if (list === undefined) byPage.set(page, [e])
    else list.push(e)
  }
  const byShard = new Map<ShardId, Envelope[]>()
  for (const [page, list] of byPage) {
    const key = pageActorKey(siteId, page)
    const shard = shardOf(PAGE_ACTOR, key, shardCount)
    const message: PageMessage = { events: list }
    const envs = byShard.get(shard)
    if (envs === undefined) byShard.set(shard, [[PAGE_ACTOR, key, message]])
    else envs.push([PAGE_ACTOR, key, message])
  }
  return [...byShard].map(([shard, envs]) => ({ shard, data: encodeEnvelopes(envs) }))
}
