import { hostname } from 'node:os'
import { type HeatmapQueries, PAGE_ACTOR, pageActorKey } from '@hm/actors'
import { nodeStats, type RuntimeHost, type Transport } from '@hm/runtime'
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify'
import type pg from 'pg'
import { Registry } from 'prom-client'
import { type AccountsContext, createAccountsContext } from './accounts/context.ts'
import { LogMailer } from './accounts/mailer.ts'
import { ephemeralAuthKeys } from './auth/keys.ts'
import { type ErrorBody, GatewayError, type GatewayErrorCode } from './errors.ts'
import type { IngestSettings } from './ingest/steps.ts'
import accounts from './plugins/accounts.ts'
import apiKeys from './plugins/api-keys.ts'
import audit from './plugins/audit.ts'
import auth, { authenticate } from './plugins/auth.ts'
import consoleUi from './plugins/console.ts'
import docs, { docsUi } from './plugins/docs.ts'
import ingest from './plugins/ingest.ts'
import live from './plugins/live.ts'
import members from './plugins/members.ts'
import metrics from './plugins/metrics.ts'
import pageViews, { type PageViewsOptions } from './plugins/page-views.ts'
import privacy from './plugins/privacy.ts'
import query from './plugins/query/index.ts'
import runtimeDashboard, { type RuntimeStatsSource } from './plugins/runtime-dashboard.ts'
import sdkAssets from './plugins/sdk-assets.ts'
import websites from './plugins/websites.ts'
import type { Cache } from './stores/cache.ts'

export interface AppOptions {
  transport: Transport
  /** This process's actors; absent on a gateway-only node, which reaches them through `actors`. */
  runtime?: RuntimeHost
  queries: HeatmapQueries
  pool: pg.Pool
  cache: Cache
  shardCount: number
  logLevel: string
  /** The platform's one metrics registry, served at `/metrics`; a fresh one when not given. */
  registry?: Registry
  /** Ingest rate limits and attribution; defaults as in `config.ts`. */
  ingest?: Partial<Omit<IngestSettings, 'maxBodyBytes'>>
  /** Reverse proxies whose X-Forwarded-For is trusted for the client address (0: none). */
  trustProxyHops?: number
  /** The management plane's shared parts; without it, keys live only as long as the process. */
  accounts?: AccountsContext
  /** Registers more plugins (the demo site, the console) inside the same app. */
  extend?: (app: FastifyInstance) => Promise<void>
  /** Asks and live topics of actors on every node of a cluster; this process's runtime by default. */
  actors?: ActorAccess
  /** Every runtime node's figures for the runtime dashboard; this process's runtime alone by default. */
  runtimeStats?: RuntimeStatsSource
  /** The page behind heatmaps (frame check, screenshots); defaults as in `config.ts`. */
  pageViews?: Partial<Omit<PageViewsOptions, 'pool' | 'registry'>>
}

/** How the APIs reach actors: `RuntimeHost` alone, or a cluster node's location-transparent access. */
export type ActorAccess = Pick<RuntimeHost, 'ask' | 'watch'>

const INGEST_BODY_LIMIT = 512 * 1024

function toErrorBody(
  err: FastifyError | GatewayError,
  url: string,
  validationCode?: GatewayErrorCode,
): { status: number; body: ErrorBody; retryAfter?: number } {
  if (err instanceof GatewayError) {
    return {
      status: err.statusCode,
      body: { error: { code: err.code, message: err.message } },
      ...(err.retryAfterS !== undefined ? { retryAfter: err.retryAfterS } : {}),
    }
  }
  const ingestRoute = url.startsWith('/v1/events')
  if (err.validation !== undefined) {
    const code = validationCode ?? (ingestRoute ? 'HM_ERR_INGEST_BAD_BATCH' : 'HM_ERR_QUERY_BAD_PARAM')
    return toErrorBody(new GatewayError(code, err.message), url)
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return toErrorBody(new GatewayError('HM_ERR_INGEST_TOO_LARGE', `limit ${INGEST_BODY_LIMIT} bytes`), url)
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return toErrorBody(new GatewayError('HM_ERR_INGEST_UNSUPPORTED_TYPE'), url)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return toErrorBody(new GatewayError(validationCode ?? 'HM_ERR_INGEST_BAD_JSON', err.message), url)
  }
  if (err instanceof SyntaxError)
    return toErrorBody(new GatewayError('HM_ERR_INGEST_BAD_JSON', err.message), url)
  return { status: 500, body: { error: { code: 'HM_ERR_INTERNAL', message: 'internal error' } } }
}

function createFastify(o: { logLevel: string; trustProxyHops?: number | undefined }): FastifyInstance {
  const app = Fastify({
    logger: { level: o.logLevel },
    bodyLimit: INGEST_BODY_LIMIT,
    // Ingestion is the hot path: a log line per request would cost more than the request.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // proxy-addr's "n hops" rule (the typings take no number): hop 0 is the socket's own peer.
    trustProxy: (_address: string, hop: number) => hop < (o.trustProxyHops ?? 0),
  })
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, body, retryAfter } = toErrorBody(err, req.url, req.routeOptions.config?.validationCode)
    if (status >= 500) req.log.error({ err }, 'request failed')
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter))
    return reply.code(status).send(body)
  })
  app.setNotFoundHandler((req, reply) => {
    const body: ErrorBody = {
      error: { code: 'HM_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url}` },
    }
    return reply.code(404).send(body)
  })
  return app
}

/**
 * The management plane: the auth plugin first, then every plugin whose routes it guards (each route
 * declares its permission; start-up fails on one that does not).
 */
async function registerManagement(app: FastifyInstance, ctx: AccountsContext): Promise<void> {
  await app.register(auth, { ctx })
  for (const plugin of [accounts, websites, members, apiKeys, audit, privacy])
    await app.register(plugin, { ctx })
}

/** Only the management plane (accounts, websites, team, keys, audit, privacy, /docs) on its stores. */
export async function buildManagementApp(o: {
  accounts: AccountsContext
  logLevel?: string
  trustProxyHops?: number
}): Promise<FastifyInstance> {
  const app = createFastify({ logLevel: o.logLevel ?? 'warn', trustProxyHops: o.trustProxyHops })
  await app.register(docs)
  await app.register(docsUi)
  await registerManagement(app, o.accounts)
  return app
}

/**
 * A runtime-only node (`HM_ROLE=runtime`): its actors take no HTTP traffic, so it serves what an
 * orchestrator and a scraper need — `/v1/health` (the host's figures and the cluster's view) and
 * `/metrics`.
 */
export async function buildRuntimeApp(o: {
  runtime: RuntimeHost
  registry: Registry
  logLevel: string
  cluster: () => unknown
}): Promise<FastifyInstance> {
  const app = createFastify({ logLevel: o.logLevel })
  app.get('/v1/health', async () => ({ status: 'ok', runtime: o.runtime.stats(), cluster: o.cluster() }))
  await app.register(metrics, { registry: o.registry })
  return app
}

/** The gateway: one Fastify app, each feature an encapsulated plugin; errors in one documented format. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const actors = options.actors ?? options.runtime
  if (actors === undefined) throw new Error('buildApp: give runtime, actors, or both')
  const app = createFastify(options)
  const registry = options.registry ?? new Registry()

  await app.register(docs)
  app.get('/v1/health', async () => ({ status: 'ok', runtime: options.runtime?.stats() ?? null }))
  await app.register(ingest, {
    transport: options.transport,
    pool: options.pool,
    cache: options.cache,
    shardCount: options.shardCount,
    registry,
    settings: {
      maxBodyBytes: INGEST_BODY_LIMIT,
      rateLimitWindowMs: 60_000,
      rateLimitPerIp: 1200,
      rateLimitPerSite: 60_000,
      countryHeader: undefined,
      ...options.ingest,
    },
  })
  await app.register(metrics, { registry })
  await app.register(sdkAssets)
  await app.register(docsUi)
  // Plugins registered from here on fall under the auth plugin's rule; the extensions (demo site) are pages.
  if (options.extend !== undefined) await options.extend(app)
  await app.register(consoleUi)
  const accounts =
    options.accounts ??
    createAccountsContext({
      pool: options.pool,
      cache: options.cache,
      keys: ephemeralAuthKeys(),
      mailer: new LogMailer((line) => app.log.info(line)),
    })
  await registerManagement(app, accounts)
  // Behind the auth plugin: every query route declares the permission it needs.
  await app.register(query, {
    queries: options.queries,
    pool: options.pool,
    // Live answers: the page actors' not-yet-flushed cells (of every split of the page) are merged into
    // what ClickHouse holds.
    pending: async (siteId, page, request) => {
      const splits = Array.from({ length: options.ingest?.pageSplits ?? 1 }, (_, split) =>
        actors.ask<Array<[number, number, number]>>(PAGE_ACTOR, pageActorKey(siteId, page, split), request),
      )
      return (await Promise.all(splits)).flat()
    },
  })
  await app.register(live, {
    pool: options.pool,
    authenticate: (token) => authenticate(accounts, token),
    watch: (topic, listener) => actors.watch(topic, listener),
  })
  await app.register(pageViews, {
    pool: options.pool,
    registry,
    screenshots: true,
    ttlMs: 86_400_000,
    privateNetwork: false,
    ...options.pageViews,
  })
  const runtime = options.runtime
  // The one node of an embedded platform is named by its host, as a cluster node is by default.
  const runtimeStats =
    options.runtimeStats ??
    (runtime && (async () => ({ members: [hostname()], nodes: [await nodeStats(runtime, hostname())] })))
  if (runtimeStats !== undefined) await app.register(runtimeDashboard, { stats: runtimeStats })
  return app
}
