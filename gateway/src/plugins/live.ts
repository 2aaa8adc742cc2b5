import type { WebSocket } from '@fastify/websocket'
import websocket from '@fastify/websocket'
import {
  type HeatmapType,
  heatmapTypes,
  normalizePage,
  type PageLiveDelta,
  pageTopic,
  type SiteActivity,
  siteTopic,
  type ViewportClass,
  viewportClasses,
} from '@hm/actors'
import { type Static, Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import { orgSite } from '../accounts/websites.ts'
import { GatewayError } from '../errors.ts'
import type { Principal } from './auth.ts'

/**
 * Subscribes to a live topic of the actor runtime (`RuntimeHost.watch`); returns the unsubscribe, whose
 * `ready` resolves once every worker publishes to the topic.
 */
export type Watch = (
  topic: string,
  listener: (payload: unknown) => void,
) => (() => void) & { ready: Promise<void> }

export interface LiveOptions {
  pool: pg.Pool
  /** Who a token (an access token or an API key) names; the auth plugin's `authenticate`. */
  authenticate: (token: string) => Promise<Principal>
  watch: Watch
  now?: () => number
  /** How often the site's live visitors and events/s are sent. */
  statsIntervalMs?: number
}

/** A visitor counts as live while their session sent something this recently. */
const LIVE_VISITOR_MS = 5 * 60_000
/** Events/s is averaged over this window. */
const RATE_WINDOW_MS = 10_000
/** Past this many unsent bytes on a socket, deltas are merged in the gateway until it drains. */
const MAX_BUFFERED = 1 << 20

/** Messages to the client, as JSON text frames. */
export type LiveMessage =
  | { kind: 'hello'; siteId: string; page: string; type: HeatmapType; viewport: ViewportClass | 'all' }
  /** Counts to add to the page's map: `[x, y, count]` at 128 columns × 16 px rows. */
  | { kind: 'delta'; at: number; cells: Array<[number, number, number]> }
  | { kind: 'site'; at: number; visitors: number; eventsPerSecond: number }
  | { kind: 'error'; error: { code: string; message: string } }

const LiveQuery = Type.Object(
  {
    page: Type.String({ minLength: 1, maxLength: 2048 }),
    type: Type.Optional(Type.Union(heatmapTypes.map((t) => Type.Literal(t)))),
    viewport: Type.Optional(Type.Union(viewportClasses.map((v) => Type.Literal(v)))),
    access_token: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: false },
)

interface Subscription {
  siteId: string
  page: string
  type: HeatmapType
  viewport: ViewportClass | undefined
}

/**
 * `GET /v1/sites/:siteId/live?page=…&type=…&viewport=…` upgraded to a WebSocket: the page's grid deltas
 * of one type (and viewport class) as they happen — the page actors publish, coalesced to a few a
 * second, only while someone watches — plus the site's live visitors and events/s once a second.
 * Authorised like the query API (an access token or an API key holding `heatmaps:read`), as
 * `Authorization: Bearer …` or `access_token=` for browsers, which cannot set headers on a WebSocket. Visitors and events/s count from the moment of watching.
 * A refused subscription is an `error` message and a close code of 4000 + its HTTP status.
 */
const live: FastifyPluginAsync<LiveOptions> = async (app, opts) => {
  const now = opts.now ?? Date.now
  await app.register(websocket, { options: { maxPayload: 4096 } })
  const checkQuery = TypeCompiler.Compile(LiveQuery)

  /** The subscription of a request, or the error to close the socket with. */
  async function subscription(req: FastifyRequest): Promise<Subscription> {
    const query = req.query as Record<string, unknown>
    const auth = req.headers.authorization
    const token = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : query.access_token
    if (typeof token !== 'string') throw new GatewayError('HM_ERR_AUTH_MISSING')
    const principal = await opts.authenticate(token)
    if (!principal.permissions.includes('heatmaps:read'))
      throw new GatewayError('HM_ERR_AUTH_FORBIDDEN', 'heatmaps:read')
    const { siteId } = req.params as { siteId: string }
    const site = await orgSite(opts.pool, principal.orgId, siteId)
    if (site === undefined) throw new GatewayError('HM_ERR_QUERY_NOT_FOUND', siteId)
    if (!checkQuery.Check(query)) {
      const first = checkQuery.Errors(query).First()
      throw new GatewayError(
        'HM_ERR_QUERY_BAD_PARAM',
        `${first?.path.slice(1) || 'query'}: ${first?.message ?? 'invalid'}`,
      )
    }
    const q = query as Static<typeof LiveQuery>
    return { siteId: site.id, page: normalizePage(q.page), type: q.type ?? 'click', viewport: q.viewport }
  }

  // Every check happens after the upgrade: a browser cannot read the status of a refused handshake, so
  // a refusal is an `error` message and a close code of 4000 + the HTTP status (4401, 4404, 4400).
  // Public to the auth plugin's rule: the checks above run after the upgrade, for the reason just given.
  app.get('/v1/sites/:siteId/live', { websocket: true, config: { public: true } }, async (socket, req) => {
    const send = (m: LiveMessage): void => socket.send(JSON.stringify(m))
    let sub: Subscription
    try {
      sub = await subscription(req)
    } catch (e) {
      const err = e instanceof GatewayError ? e : new GatewayError('HM_ERR_INTERNAL')
      if (!(e instanceof GatewayError)) req.log.error({ err: e }, 'live subscription failed')
      send({ kind: 'error', error: { code: err.code, message: err.message } })
      socket.close(4000 + err.statusCode, err.code)
      return
    }
    // The client may have left while the checks ran: nothing to watch for then.
    if (socket.readyState === socket.OPEN) startStreaming(socket, sub, send)
  })

  function startStreaming(socket: WebSocket, sub: Subscription, send: (m: LiveMessage) => void): void {
    const { siteId, page, type, viewport } = sub

    // Deltas waiting for a slow socket, merged by cell.
    const held = new Map<number, [number, number, number]>()
    let heldAt = 0
    let retry: NodeJS.Timeout | undefined
    const flushHeld = (): void => {
      retry = undefined
      if (held.size === 0 || socket.readyState !== socket.OPEN) return
      if (socket.bufferedAmount > MAX_BUFFERED) {
        retry = setTimeout(flushHeld, 100)
        return
      }
      send({ kind: 'delta', at: heldAt, cells: [...held.values()] })
      held.clear()
    }
    const stopPage = opts.watch(pageTopic(siteId, page), (payload) => {
      const d = payload as PageLiveDelta
      for (const [t, vc, x, y, n] of d.cells) {
        if (t !== type || (viewport !== undefined && vc !== viewport)) continue
        const k = y * 128 + x
        const c = held.get(k)
        if (c === undefined) held.set(k, [x, y, n])
        else c[2] += n
      }
      heldAt = d.at
      if (retry === undefined) flushHeld()
    })

    const lastSeen = new Map<string, number>()
    const recent: Array<[number, number]> = []
    const stopSite = opts.watch(siteTopic(siteId), (payload) => {
      const a = payload as SiteActivity
      const t = now()
      lastSeen.delete(a.sessionId)
      lastSeen.set(a.sessionId, t)
      recent.push([t, a.events])
    })
    // Hello only once every worker publishes to both topics: what is applied after it reaches the socket.
    void Promise.all([stopPage.ready, stopSite.ready]).then(() => {
      if (socket.readyState === socket.OPEN)
        send({ kind: 'hello', siteId, page, type, viewport: viewport ?? 'all' })
    })
    const stats = setInterval(() => {
      const t = now()
      // Oldest first in both: drop from the front until recent enough.
      for (const [id, seen] of lastSeen) {
        if (seen > t - LIVE_VISITOR_MS) break
        lastSeen.delete(id)
      }
      while (recent.length > 0 && recent[0]![0] <= t - RATE_WINDOW_MS) recent.shift()
      let events = 0
      for (const [, n] of recent) events += n
      send({
        kind: 'site',
        at: t,
        visitors: lastSeen.size,
        eventsPerSecond: events / (RATE_WINDOW_MS / 1000),
      })
    }, opts.statsIntervalMs ?? 1000)

    socket.on('close', () => {
      stopPage()
      stopSite()
      clearInterval(stats)
      clearTimeout(retry)
    })
  }
}

export default fp(live, { name: 'live', encapsulate: true, fastify: '5.x' })
