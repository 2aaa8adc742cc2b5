import type { NodeStats } from '@hm/runtime'
import { type Static, Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { bearer, needs } from '../accounts/schemas.ts'

/** Every runtime node's figures, and the members that should have answered. */
export type RuntimeStatsSource = () => Promise<{ members: string[]; nodes: NodeStats[] }>

export interface RuntimeDashboardOptions {
  stats: RuntimeStatsSource
  /** How often the stream sends; a second by default. */
  intervalMs?: number
  /**
   * A stream ends after this long and the client opens another, so a sign-in revoked or a permission lost
   * meanwhile stops it (the permission is checked when a stream opens).
   */
  maxStreamMs?: number
}

const Count = Type.Integer({ minimum: 0 })
const TypeView = Type.Object({
  active: Count,
  activations: Count,
  passivations: Count,
  turns: Count,
  deadLetters: Count,
  turnsPerSecond: Type.Number({ description: 'Since the previous sample of the node' }),
})
const NodeView = Type.Object({
  nodeId: Type.String(),
  at: Type.Integer({ description: 'When sampled, ms since the epoch by the node' }),
  threads: Count,
  shards: Type.Array(Count, { description: 'Shards the node pulls now' }),
  workers: Type.Array(Type.Object({ threadId: Count, activeActors: Count, shards: Count, heapUsed: Count })),
  byType: Type.Record(Type.String(), TypeView, { description: 'By actor type' }),
  activeActors: Count,
  mailboxDepth: Type.Integer({ description: 'Messages pulled and not yet handled' }),
  delivered: Count,
  applied: Count,
  deadLetters: Count,
  replays: Count,
  unwrittenBatches: Count,
  turnsPerSecond: Type.Number(),
  deliveredPerSecond: Type.Number(),
  rateWindowMs: Type.Integer({
    minimum: 0,
    description: 'What the rates are measured over; 0: no earlier sample of the node yet (rates are 0)',
  }),
})
export const RuntimeView = Type.Object({
  at: Type.Integer(),
  members: Type.Array(Type.String(), { description: 'Nodes of the cluster (this process when embedded)' }),
  missing: Type.Array(Type.String(), { description: 'Members that did not answer in time' }),
  nodes: Type.Array(NodeView),
  totals: Type.Object({
    nodes: Count,
    shards: Count,
    threads: Count,
    activeActors: Count,
    mailboxDepth: Type.Integer(),
    deadLetters: Count,
    turnsPerSecond: Type.Number(),
    byType: Type.Record(
      Type.String(),
      Type.Object({ active: Count, turnsPerSecond: Type.Number(), deadLetters: Count }),
    ),
  }),
})
export type RuntimeView = Static<typeof RuntimeView>
type NodeView = Static<typeof NodeView>

/** Per second, from `before` to `now` of one counter (a node that restarted counts from zero). */
const perSecond = (now: number, before: number | undefined, ms: number): number =>
  ms <= 0 ? 0 : (Math.max(0, now - (before ?? 0)) * 1000) / ms

/**
 * Samples the source and turns counters into rates against the previous sample of each node (by its
 * own clock). One sampler per gateway: every stream hears the same ticks, and the nodes are asked once
 * a second however many watch.
 */
class Sampler {
  private readonly previous = new Map<string, NodeStats>()
  private readonly listeners = new Set<(v: RuntimeView) => void>()
  private timer: NodeJS.Timeout | undefined
  private inFlight: Promise<RuntimeView> | undefined

  constructor(
    private readonly source: RuntimeStatsSource,
    private readonly intervalMs: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  /** A sample now (shared with one already under way). */
  sample(): Promise<RuntimeView> {
    this.inFlight ??= this.take().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  subscribe(listener: (v: RuntimeView) => void): () => void {
    this.listeners.add(listener)
    this.timer ??= setInterval(() => {
      this.sample().then(
        (v) => {
          for (const l of this.listeners) l(v)
        },
        (e: unknown) => this.onError(e),
      )
    }, this.intervalMs)
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size > 0) return
      clearInterval(this.timer)
      this.timer = undefined
    }
  }

  private async take(): Promise<RuntimeView> {
    const { members, nodes } = await this.source()
    const views = nodes.map((n): NodeView => {
      const p = this.previous.get(n.nodeId)
      // A sample older than the node's restart or from the future of a skewed clock gives no rate.
      const window = p === undefined || p.at >= n.at ? 0 : n.at - p.at
      const byType: NodeView['byType'] = {}
      let turnsPerSecond = 0
      for (const [type, t] of Object.entries(n.byType)) {
        const rate = window === 0 ? 0 : perSecond(t.turns, p?.byType[type]?.turns, window)
        turnsPerSecond += rate
        byType[type] = { ...t, turnsPerSecond: rate }
      }
      this.previous.set(n.nodeId, n)
      return {
        ...n,
        byType,
        turnsPerSecond,
        deliveredPerSecond: window === 0 ? 0 : perSecond(n.delivered, p?.delivered, window),
        rateWindowMs: window,
      }
    })
    const answered = new Set(nodes.map((n) => n.nodeId))
    for (const id of this.previous.keys())
      if (!answered.has(id) && !members.includes(id)) this.previous.delete(id)
    const byType: RuntimeView['totals']['byType'] = {}
    for (const n of views)
      for (const [type, t] of Object.entries(n.byType)) {
        const sum = byType[type] ?? { active: 0, turnsPerSecond: 0, deadLetters: 0 }
        sum.active += t.active
        sum.turnsPerSecond += t.turnsPerSecond
        sum.deadLetters += t.deadLetters
        byType[type] = sum
      }
    const total = (pick: (n: NodeView) => number) => views.reduce((a, n) => a + pick(n), 0)
    return {
      at: Date.now(),
      members,
      missing: members.filter((m) => !answered.has(m)),
      nodes: views,
      totals: {
        nodes: views.length,
        shards: total((n) => n.shards.length),
        threads: total((n) => n.threads),
        activeActors: total((n) => n.activeActors),
        mailboxDepth: total((n) => n.mailboxDepth),
        deadLetters: total((n) => n.deadLetters),
        turnsPerSecond: total((n) => n.turnsPerSecond),
        byType,
      },
    }
  }
}

/**
 * The runtime dashboard's data: every node's shards, worker threads, active actors and turns per second
 * by actor type, mailbox depth and dead letters — one sample (`GET /v1/runtime`) or a server-sent stream
 * of one a second (`GET /v1/runtime/stream`). In a cluster the answering gateway gathers every node's
 * figures over NATS. Instance-wide, so for instance operators only (`instance:read`).
 */
const runtimeDashboard: FastifyPluginAsync<RuntimeDashboardOptions> = async (app, opts) => {
  const sampler = new Sampler(opts.stats, opts.intervalMs ?? 1000, (err) =>
    app.log.warn({ err }, 'runtime dashboard: sampling failed'),
  )
  const streams = new Set<() => void>()
  // An open stream would keep the server from closing.
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end()
  })

  app.get(
    '/v1/runtime',
    {
      config: needs('instance:read'),
      schema: {
        tags: ['runtime'],
        security: bearer,
        summary: "Every runtime node's figures now (rates since the previous sample this gateway took)",
        response: { 200: RuntimeView },
      },
    },
    async (_req, reply) => reply.header('cache-control', 'no-store').send(await sampler.sample()),
  )

  app.get(
    '/v1/runtime/stream',
    {
      config: needs('instance:read'),
      schema: {
        tags: ['runtime'],
        security: bearer,
        summary: 'The same figures as a server-sent event stream, one `stats` event a second',
        description:
          'Each event is `event: stats` with `data:` a JSON object shaped like `GET /v1/runtime`. The stream ends after a few minutes; open it again (the permission is checked at each opening).',
        response: {
          200: {
            content: {
              'text/event-stream': { schema: Type.String({ description: 'event: stats, data: JSON' }) },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const first = await sampler.sample()
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        // Proxies that buffer would hold the events back.
        'x-accel-buffering': 'no',
      })
      const send = (v: RuntimeView): void => {
        // A slow reader misses ticks rather than making the gateway hold them.
        if (res.writableNeedDrain) return
        res.write(`event: stats\ndata: ${JSON.stringify(v)}\n\n`)
      }
      send(first)
      const unsubscribe = sampler.subscribe(send)
      let ended = false
      const end = (): void => {
        if (ended) return
        ended = true
        clearTimeout(lifetime)
        unsubscribe()
        streams.delete(end)
        if (!res.writableEnded) res.end()
      }
      const lifetime = setTimeout(end, opts.maxStreamMs ?? 300_000)
      streams.add(end)
      req.raw.once('close', end)
      res.once('close', end)
    },
  )
}

export default fp(runtimeDashboard, { name: 'runtime-dashboard', encapsulate: true, fastify: '5.x' })
