import type { Transport } from '@hm/runtime'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import type { Registry } from 'prom-client'
import { endpoints } from '../ingest/endpoints.ts'
import { createIngestMetrics } from '../ingest/metrics.ts'
import { createIngestPipeline, type IngestSettings, newContext } from '../ingest/steps.ts'
import type { Cache } from '../stores/cache.ts'

export interface IngestOptions {
  transport: Transport
  pool: pg.Pool
  cache: Cache
  shardCount: number
  /** The platform's metrics registry; the pipeline's timings and drop counters go there. */
  registry: Registry
  settings: IngestSettings
  now?: () => number
}

const IngestResultSchema = Type.Object({
  accepted: Type.Integer({ description: 'events kept (stored now, or already by an earlier copy)' }),
  dropped: Type.Integer({ description: 'events dropped by the filters (do-not-track, bots, stale)' }),
  duplicate: Type.Boolean({ description: 'the batch id was already stored: a retry, counted once' }),
})
const HealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  reason: Type.Optional(Type.String()),
})

/**
 * Ingestion: `POST /v1/events/collect` (any event) and `/v1/events/click`, `/scroll`, `/mouse` (the same
 * batch, restricted to one kind), JSON or text/plain (what `sendBeacon` sends). Each request runs the
 * ingest pipeline (`ingest/steps.ts`); 202 only once the transport has durably stored every part of
 * the batch. CORS is open (`*`, no credentials): which origins may send is the website's allow-list,
 * checked by the pipeline.
 */
const ingest: FastifyPluginAsync<IngestOptions> = async (app, opts) => {
  const now = opts.now ?? Date.now
  const metrics = createIngestMetrics(opts.registry)
  const pipeline = createIngestPipeline({
    transport: opts.transport,
    pool: opts.pool,
    cache: opts.cache,
    shardCount: opts.shardCount,
    settings: opts.settings,
    metrics,
    now,
    warn: (err, msg) => app.log.warn({ err }, msg),
  })
  const names = new Map<string, string>(endpoints.map((e) => [e.path, e.name]))

  // Bodies stay strings: the pipeline times its own parse step, the same for JSON and beacon bodies.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    ['application/json', 'text/plain'],
    { parseAs: 'string', bodyLimit: opts.settings.maxBodyBytes },
    (_req, body, done) => done(null, body),
  )
  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('access-control-allow-origin', '*')
    return payload
  })
  app.addHook('onResponse', async (req, reply) => {
    const endpoint = names.get(req.routeOptions.url ?? '') ?? 'other'
    metrics.requests.labels({ endpoint, status: String(reply.statusCode) }).inc()
  })

  for (const endpoint of endpoints) {
    app.post(endpoint.path, { schema: { response: { 202: IngestResultSchema } } }, async (req, reply) => {
      const ctx = newContext(endpoint, req.body, req.ip, req.headers, now())
      await pipeline.run(ctx)
      return reply.code(202).send(ctx.result ?? { accepted: 0, dropped: ctx.dropped, duplicate: false })
    })
  }

  // A page posting JSON from another origin asks first; the SDK itself sends text/plain, which does not.
  app.options('/v1/events/*', async (_req, reply) =>
    reply
      .code(204)
      .header('access-control-allow-methods', 'POST, GET, OPTIONS')
      .header('access-control-allow-headers', 'content-type')
      .header('access-control-max-age', '86400')
      .send(),
  )

  app.get(
    '/v1/events/health',
    { schema: { response: { 200: HealthSchema, 503: HealthSchema } } },
    async (_req, reply) => {
      try {
        // Site lookups and rate limits go through the cache: without it, ingestion is down.
        await opts.cache.get('health:probe')
      } catch (err) {
        app.log.warn({ err }, 'ingest health: cache unreachable')
        return reply.code(503).send({ status: 'unavailable', reason: 'cache' })
      }
      return { status: 'ok' }
    },
  )
}

export default fp(ingest, { name: 'ingest', encapsulate: true, fastify: '5.x' })
