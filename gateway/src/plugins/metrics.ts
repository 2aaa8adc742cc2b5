import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type { Registry } from 'prom-client'

export interface MetricsOptions {
  /** The platform's one registry: every part registers its metrics there (see `platform.ts`). */
  registry: Registry
}

/** `GET /metrics`: the registry in the Prometheus text format, for a scraper. */
const metrics: FastifyPluginAsync<MetricsOptions> = async (app, opts) => {
  app.get('/metrics', async (_req, reply) =>
    reply
      .type(opts.registry.contentType)
      .header('cache-control', 'no-store')
      .send(await opts.registry.metrics()),
  )
}

export default fp(metrics, { name: 'metrics', encapsulate: true, fastify: '5.x' })
