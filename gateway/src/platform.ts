import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import {
  actorsWorkerFile,
  ClickHouseSink,
  HeatmapQueries,
  migrateClickHouse,
  openClickHouse,
  SITE_RETENTION,
  setSiteRetention,
} from '@hm/actors'
import { ClickHouseRuntimeStore, FileJournalStore, InProcessTransport, RuntimeHost } from '@hm/runtime'
import type { FastifyInstance } from 'fastify'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { createAccountsContext } from './accounts/context.ts'
import { type DemoCredentials, ensureDemo } from './accounts/demo.ts'
import { ActorSync } from './accounts/live-state.ts'
import { LogMailer } from './accounts/mailer.ts'
import { enforceRetention } from './accounts/privacy.ts'
import { SiteRetentions } from './accounts/retention.ts'
import { clickhouseSiteData } from './accounts/site-data.ts'
import { setOperatorEmails } from './accounts/users.ts'
import {
  cacheVisitorStore,
  clickhouseVisitorStore,
  journalVisitorStore,
  liveVisitorStore,
  postgresVisitorStore,
} from './accounts/visitor-stores.ts'
import { buildApp, buildRuntimeApp } from './app.ts'
import { loadAuthKeys, reencryptFields } from './auth/keys.ts'
import { ClusterMode, checkClusterConfig, fencedInCluster } from './cluster.ts'
import { type Config, operatorEmails } from './config.ts'
import { startTraffic } from './demo/traffic.ts'
import { authenticate } from './plugins/auth.ts'
import clusterRoutes from './plugins/cluster.ts'
import demoSite from './plugins/demo-site.ts'
import { registerRuntimeMetrics } from './runtime-metrics.ts'
import { openCache } from './stores/cache.ts'
import { migratePostgres } from './stores/pg-migrations.ts'
import { openPostgres } from './stores/postgres.ts'

export interface Platform {
  url: string
  app: FastifyInstance
  /** What this process runs (`HM_ROLE`). */
  role: Config['HM_ROLE']
  /** This process's actors; none on a gateway-only node. */
  runtime: RuntimeHost | undefined
  demo: DemoCredentials | undefined
  /** What each store runs on, for the start-up banner. */
  stores: Record<'analytics' | 'app' | 'cache' | 'messaging', string>
  /** Stops accepting, drains and flushes, closes every store. Safe to call twice. */
  stop(): Promise<void>
}

/**
 * Starts the product in this process: stores, actor runtime, gateway, demo site and traffic — or, as a
 * part of a cluster, the gateway alone (`HM_ROLE=gateway`) or the actor runtime alone (`runtime`).
 */
export async function startPlatform(config: Config): Promise<Platform> {
  // A cluster node's stores must be shared, and a role needs a cluster: refuse before opening anything.
  checkClusterConfig(config)
  const hostsActors = config.HM_ROLE !== 'gateway'
  const servesApi = config.HM_ROLE !== 'runtime'
  const dataDir = config.HM_DATA_DIR_ABS
  await mkdir(dataDir, { recursive: true })
  const closers: Array<() => Promise<unknown>> = []
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close()
      } catch (e) {
        console.error('[platform] close failed:', e)
      }
    }
  }
  try {
    const clickhouse = openClickHouse({
      url: config.HM_CLICKHOUSE_URL,
      username: config.HM_CLICKHOUSE_USER,
      password: config.HM_CLICKHOUSE_PASSWORD,
      dataDir,
    })
    closers.push(() => clickhouse.close())
    const db = config.HM_CLICKHOUSE_DATABASE
    await migrateClickHouse(clickhouse, db)

    const postgres = await openPostgres({ url: config.HM_DATABASE_URL, dataDir })
    closers.push(() => postgres.close())
    await migratePostgres(postgres.pool)

    const cache = openCache(config.HM_REDIS_URL)
    closers.push(() => cache.close())

    const cluster =
      config.HM_NATS_URL === undefined
        ? undefined
        : await ClusterMode.open(config, (err, where) => console.error(`[jetstream] ${where}:`, err))
    const transport = cluster?.transport ?? (await InProcessTransport.open({ dir: join(dataDir, 'queue') }))
    closers.push(() => (cluster ?? transport).close())

    const keys = await loadAuthKeys({
      authSecret: config.HM_AUTH_SECRET,
      encryptionKeys: config.HM_ENCRYPTION_KEYS,
      dataDir,
    })
    // After a key rotation (a new key first in HM_ENCRYPTION_KEYS) old fields move to the new key.
    await reencryptFields(postgres.pool, keys.cipher)
    const demo = config.HM_DEMO && servesApi ? await ensureDemo(postgres.pool, dataDir) : undefined
    // Gateways only: the list is theirs to set, and a runtime node configured without it must not clear it.
    if (servesApi) await setOperatorEmails(postgres.pool, operatorEmails(config))
    const retentions = new SiteRetentions()
    await retentions.load(postgres.pool)
    // The one metrics registry of this process, served at /metrics: every part registers on it.
    const registry = new Registry()
    collectDefaultMetrics({ register: registry })
    let app: FastifyInstance | undefined
    const runtimeStore = new ClickHouseRuntimeStore(clickhouse, db)
    await runtimeStore.migrate()
    // One node keeps its flush journal on its own disk; a cluster's must be in the store every node reads.
    const localJournal =
      cluster === undefined ? await FileJournalStore.open(runtimeStore, join(dataDir, 'journal')) : undefined
    if (localJournal !== undefined) closers.push(() => localJournal.close())
    const journaled = localJournal ?? runtimeStore
    const runtime = !hostsActors
      ? undefined
      : new RuntimeHost({
          transport,
          sink: new ClickHouseSink(clickhouse, db, { retention: () => retentions.days }),
          // A cluster node is given its shards as it takes their leases.
          ...(cluster && { shards: [] }),
          store: fencedInCluster(cluster, journaled),
          workerFile: actorsWorkerFile,
          shardCount: config.HM_SHARDS,
          threads: config.HM_THREADS,
          flushIntervalMs: config.HM_FLUSH_INTERVAL_MS,
          onError: (err, where) => app?.log.error({ err }, `runtime: ${where}`),
          onDeadLetter: (letter) => app?.log.warn({ letter }, 'runtime: dead letter'),
        })
    // A runtime node's health shows its view of the cluster; null until it has joined (status throws then).
    const clusterStatus = () => {
      try {
        return cluster?.status() ?? null
      } catch {
        return null
      }
    }
    if (servesApi) app = await buildGateway()
    else
      app = await buildRuntimeApp({
        runtime: runtime!,
        registry,
        logLevel: config.HM_LOG_LEVEL,
        cluster: clusterStatus,
      })
    if (runtime !== undefined) {
      registerRuntimeMetrics(registry, runtime)
      retentions.onChange((days) => runtime.share(SITE_RETENTION, days))
    }

    async function buildGateway(): Promise<FastifyInstance> {
      // Erasures reach the actors through the transport and wait for the positions applied flushes cover.
      const actorSync = new ActorSync({
        shardCount: config.HM_SHARDS,
        publish: (shard, data, msgId) => transport.publish(shard, data, msgId),
        positions: () => runtimeStore.positions(),
      })
      const accounts = createAccountsContext({
        pool: postgres.pool,
        cache,
        keys,
        mailer: new LogMailer((line) => app?.log.info(line)),
        settings: {
          accessTokenTtlS: config.HM_ACCESS_TOKEN_TTL_S,
          refreshTokenTtlS: config.HM_REFRESH_TOKEN_TTL_S,
          loginMaxFailures: config.HM_LOGIN_MAX_FAILURES,
          loginLockoutS: config.HM_LOGIN_LOCKOUT_S,
          loginMaxPerIp: config.HM_LOGIN_MAX_PER_IP,
          signup: config.HM_SIGNUP,
          publicUrl: config.HM_PUBLIC_URL ?? `http://localhost:${config.HM_PORT}`,
        },
        // In this order: consent records, then their cached decision; the live actors before the rows they wrote.
        visitorStores: [
          postgresVisitorStore(postgres.pool, keys.cipher),
          cacheVisitorStore(cache),
          liveVisitorStore(actorSync, clickhouse, db),
          clickhouseVisitorStore(clickhouse, db),
          journalVisitorStore(journaled),
        ],
        siteData: clickhouseSiteData(actorSync, clickhouse, db, journaled),
        setRetention: async (siteId, days) => {
          retentions.set(siteId, days)
          await setSiteRetention(clickhouse, db, siteId, days)
        },
      })
      return buildApp({
        // A node of a cluster asks and watches actors wherever their shards are.
        ...(cluster && {
          actors: {
            ask: (type, key, request) => cluster.ask(type, key, request),
            watch: (topic, listener) => cluster.watch(topic, listener),
          },
        }),
        // The runtime dashboard gathers every node's figures over NATS.
        ...(cluster && { runtimeStats: () => cluster.runtimeStats() }),
        transport,
        runtime,
        queries: new HeatmapQueries(clickhouse, db),
        pool: postgres.pool,
        cache,
        shardCount: config.HM_SHARDS,
        logLevel: config.HM_LOG_LEVEL,
        registry,
        ingest: {
          rateLimitWindowMs: config.HM_RATE_LIMIT_WINDOW_S * 1000,
          rateLimitPerIp: config.HM_RATE_LIMIT_PER_IP,
          rateLimitPerSite: config.HM_RATE_LIMIT_PER_SITE,
          countryHeader: config.HM_COUNTRY_HEADER?.toLowerCase(),
          pageSplits: config.HM_PAGE_SPLITS,
        },
        trustProxyHops: config.HM_TRUST_PROXY_HOPS,
        accounts,
        // Its Chromium is launched on the first screenshot and closed with the app.
        pageViews: {
          screenshots: config.HM_SCREENSHOTS,
          chromiumPath: config.HM_CHROMIUM_PATH,
          ttlMs: config.HM_SCREENSHOT_TTL_S * 1000,
          privateNetwork: config.HM_PAGE_PRIVATE_NETWORK,
        },
        extend: async (a) => {
          if (demo !== undefined) await a.register(demoSite, { siteKey: demo.siteKey })
          if (cluster !== undefined)
            await a.register(clusterRoutes, {
              authenticate: (token) => authenticate(accounts, token),
              status: () => cluster.status(),
            })
        },
      })
    }
    // Retention of what PostgreSQL keeps about visitors and sign-ins; ClickHouse applies its own by TTL.
    const retentionJob = async () => {
      try {
        await enforceRetention(postgres.pool)
        await retentions.load(postgres.pool)
      } catch (err) {
        app?.log.error({ err }, 'retention job failed')
      }
    }
    await retentionJob()
    const retentionTimer = setInterval(retentionJob, 3_600_000)
    retentionTimer.unref()
    closers.push(async () => clearInterval(retentionTimer))
    if (runtime !== undefined) {
      await runtime.start()
      closers.push(() => runtime.stop())
    }
    if (cluster !== undefined) {
      const onError = (err: unknown, where: string) => app?.log.error({ err }, `cluster: ${where}`)
      if (runtime !== undefined) await cluster.join(runtime, onError)
      else await cluster.observe(onError)
      // Before the host stops: every shard handed off, written and acknowledged.
      closers.push(() => cluster.drain())
    }
    const started = app
    closers.push(() => started.close())
    await app.listen({ host: config.HM_HOST, port: config.HM_PORT })
    const address = app.server.address()
    const port = typeof address === 'object' && address !== null ? address.port : config.HM_PORT
    const url =
      config.HM_PUBLIC_URL ?? `http://${config.HM_HOST === '0.0.0.0' ? 'localhost' : config.HM_HOST}:${port}`

    if (demo !== undefined && config.HM_DEMO_TRAFFIC) {
      const traffic = startTraffic({
        baseUrl: url,
        siteKey: demo.siteKey,
        visitorsPerMinute: config.HM_DEMO_VISITORS_PER_MINUTE,
        onError: (err) => started.log.warn({ err }, 'demo traffic'),
      })
      closers.push(() => traffic.stop())
    }
    let stopping: Promise<void> | undefined
    return {
      url,
      app,
      role: config.HM_ROLE,
      runtime,
      demo,
      stores: {
        analytics:
          config.HM_CLICKHOUSE_URL === undefined
            ? `chDB in ${join(dataDir, 'clickhouse')}`
            : new URL(config.HM_CLICKHOUSE_URL).host,
        app: postgres.describe,
        cache: config.HM_REDIS_URL === undefined ? 'in-memory' : new URL(config.HM_REDIS_URL).host,
        messaging: cluster?.describe ?? `in-process, log in ${join(dataDir, 'queue')}`,
      },
      stop: () => {
        stopping ??= closeAll()
        return stopping
      },
    }
  } catch (e) {
    await closeAll()
    throw e
  }
}
