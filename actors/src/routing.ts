import { type Envelope, encodeEnvelopes, fnv1a, type ShardId, shardOf } from '@hm/runtime'
import { encodePageMessage, encodeSessionMessage } from './message-codec.ts'
import { PAGE_ACTOR, type PageMessage, pageActorKey } from './page-actor.ts'
import { SESSION_ACTOR, type SessionMessage, sessionActorKey } from './session-actor.ts'
import type { WireEvent } from './wire.ts'

/** Who sent a batch, as the gateway established it. */
export interface BatchContext {
  siteId: string
  visitorId: string
  sessionId: string
  /** From the User-Agent: `desktop`, `mobile`, `tablet`, `tv`, `bot` or `unknown`. Never the IP. */
  device?: string
  /** Browser name (`Chrome`, `Safari`, …) when the User-Agent tells it. */
  browser?: string
  /** Operating system name (`Windows`, `iOS`, …) when the User-Agent tells it. */
  os?: string
  /** ISO 3166-1 alpha-2 country from the trusted CDN header, when one is configured. */
  country?: string
}

/** An accepted event: validated, privacy rules applied, its URL normalised to the page it belongs to. */
export type AcceptedEvent = WireEvent & { page: string }

/** One stream message: the envelopes of one shard, encoded. */
export interface ShardPayload {
  shard: ShardId
  data: Uint8Array
}

export interface RouteOptions {
  /**
   * Page actors per page (default 1). A page busier than one worker can serve is split this many ways by
   * session: each split is an actor of its own (on its own shard), and ClickHouse sums their rows. A
   * session always lands on the same split, so its events stay in order. Keep the value fixed while a
   * batch may be retried (two minutes): the split of an event must depend on the batch alone.
   */
  pageSplits?: number
}

/** FNV-1a of a session id: picks the split of a hot page. */
function splitOf(sessionId: string, splits: number): number {
  if (splits <= 1) return 0
  return fnv1a(sessionId) % splits
}

function add(byShard: Map<ShardId, Envelope[]>, shard: ShardId, env: Envelope): void {
  const envs = byShard.get(shard)
  if (envs === undefined) byShard.set(shard, [env])
  else envs.push(env)
}

/**
 * Splits a batch into one stream message per shard, one envelope per actor (its message in the layout of
 * `message-codec.ts`): a page's events go to its page actor (scroll events excepted: their depth is per
 * page view, which only the session knows), so a busy site spreads over every shard (and so every
 * worker) through its pages; all the batch's events go to its session actor. The split depends only on the batch, so a retried batch maps to the same
 * messages (and message ids).
 */
export function routeBatch(
  ctx: BatchContext,
  events: readonly AcceptedEvent[],
  shardCount: number,
  options: RouteOptions = {},
): ShardPayload[] {
  // The events go as they are: the encoders leave out what an actor does not read (url; page for pages).
  const byPage = new Map<string, AcceptedEvent[]>()
  for (const e of events) {
    if (e.type === 'scroll') continue
    const list = byPage.get(e.page)
    if (list === undefined) byPage.set(e.page, [e])
    else list.push(e)
  }
  const split = splitOf(ctx.sessionId, options.pageSplits ?? 1)
  const dims = {
    ...(ctx.device ? { device: ctx.device } : {}),
    ...(ctx.country ? { country: ctx.country } : {}),
  }
  const byShard = new Map<ShardId, Envelope[]>()
  for (const [page, list] of byPage) {
    const key = pageActorKey(ctx.siteId, page, split)
    const message: PageMessage = { events: list, ...dims }
    add(byShard, shardOf(PAGE_ACTOR, key, shardCount), [PAGE_ACTOR, key, encodePageMessage(message)])
  }
  if (events.length > 0) {
    const key = sessionActorKey(ctx.siteId, ctx.sessionId)
    const message: SessionMessage = {
      visitorId: ctx.visitorId,
      ...dims,
      ...(ctx.browser ? { browser: ctx.browser } : {}),
      ...(ctx.os ? { os: ctx.os } : {}),
      events,
    }
    add(byShard, shardOf(SESSION_ACTOR, key, shardCount), [SESSION_ACTOR, key, encodeSessionMessage(message)])
  }
  return [...byShard].map(([shard, envs]) => ({ shard, data: encodeEnvelopes(envs) }))
}
