import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openClickHouse } from '@hm/actors'
import { connectCluster } from '@hm/runtime'
import { jetstreamManager } from '@nats-io/jetstream'
import pg from 'pg'
// The runtime's ownership recorder: replays the nodes' ownership log and flags two owners at once.
import { OwnershipRecorder } from '../../../runtime/test/cluster/ownership-recorder.ts'
import { type ChdbHttpServer, serveChdbHttp } from '../../src/cluster-clickhouse-server.ts'
import { waitFor } from '../helpers/events.ts'
import { exited, type Running, type RunningNode, startNode, startProcess } from '../helpers/process.ts'

const pgAdmin = 'postgres://postgres@127.0.0.1:5432/postgres'

export interface ClusterSceneOptions {
  /** The NATS server of the cluster's nodes, of the recorder and of the scene's own connection. */
  natsUrl: string
  shards: number
  /** Tells this scene's streams, buckets and databases from other tests' (a letter or two). */
  tag: string
  /** More environment for every node (rate limits, log level…). */
  env?: Record<string, string>
}

/** What `/v1/cluster` shows of a node (the part these tests read). */
export interface NodeView {
  nodeId: string
  members: string[]
  shards: number[]
}

/**
 * Several `npm start` node processes of one cluster on this machine: they share NATS, one chDB served
 * over HTTP (`cluster-clickhouse-server.ts`), a PostgreSQL database of their own and Redis; their
 * ownership log is replayed by an `OwnershipRecorder`. Every name carries a random run id.
 */
export class ClusterScene {
  readonly running = new Map<string, Running>()
  /** Runtime-only nodes (`HM_ROLE=runtime`): no demo, no API, only health and metrics. */
  readonly runtimeNodes = new Map<string, RunningNode>()

  private constructor(
    readonly o: ClusterSceneOptions,
    readonly run: string,
    readonly dir: string,
    readonly analytics: ChdbHttpServer,
    readonly clickhouse: ReturnType<typeof openClickHouse>,
    readonly nc: Awaited<ReturnType<typeof connectCluster>>,
    readonly recorder: OwnershipRecorder,
  ) {}

  static async create(o: ClusterSceneOptions): Promise<ClusterScene> {
    const run = randomBytes(4).toString('hex')
    const dir = await mkdtemp(join(tmpdir(), `hm-cluster-${o.tag}-`))
    const analytics = await serveChdbHttp({ dataDir: join(dir, 'analytics'), port: 0 })
    const clickhouse = openClickHouse({ url: analytics.url, dataDir: dir })
    // Reconnects forever, like a node's: the scene outlives a NATS restart.
    const nc = await connectCluster(o.natsUrl, `test-${o.tag}-${run}`)
    const recorder = await OwnershipRecorder.create(
      nc,
      `HM_OWNERSHIP_${o.tag.toUpperCase()}${run}`,
      `hmtest.own.${o.tag}${run}`,
    )
    const s = new ClusterScene(o, run, dir, analytics, clickhouse, nc, recorder)
    const c = new pg.Client(pgAdmin)
    await c.connect()
    await c.query(`CREATE DATABASE ${s.database}`)
    await c.end()
    return s
  }

  get database(): string {
    return `hm_cluster_${this.o.tag}${this.run}`
  }

  get chDatabase(): string {
    return `hm${this.o.tag}_${this.run}`
  }

  get stream(): string {
    return `HM_EVENTS_${this.o.tag.toUpperCase()}${this.run}`
  }

  get cluster(): string {
    return `hm${this.o.tag}_${this.run}`
  }

  /** What every node of the cluster shares: NATS, the analytics endpoint, PostgreSQL, Redis. */
  env(nodeId: string): Record<string, string> {
    return {
      HM_NATS_URL: this.o.natsUrl,
      HM_NATS_STREAM: this.stream,
      HM_CLUSTER: this.cluster,
      HM_NODE_ID: nodeId,
      // Short leases keep the tests quick; nothing asserts on how long anything took.
      HM_LEASE_MS: '3000',
      HM_SHARDS: String(this.o.shards),
      HM_THREADS: '1',
      HM_FLUSH_INTERVAL_MS: '200',
      HM_CLICKHOUSE_URL: this.analytics.url,
      HM_CLICKHOUSE_DATABASE: this.chDatabase,
      HM_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${this.database}`,
      HM_REDIS_URL: 'redis://127.0.0.1:6379',
      HM_CLUSTER_OWNERSHIP_SUBJECT: this.recorder.subject,
      // One signing key, so an operator's token works on every node; the operator reads /v1/cluster.
      HM_AUTH_SECRET: `scene-auth-secret-${this.run.repeat(4)}`,
      HM_OPERATOR_EMAILS: this.operatorEmail,
      ...this.o.env,
    }
  }

  /** Starts a node (`HM_ROLE=all` unless `env` says otherwise) that serves the API and the demo. */
  async start(nodeId: string, env: Record<string, string> = {}): Promise<Running> {
    const r = await startProcess(join(this.dir, nodeId), { ...this.env(nodeId), ...env })
    this.running.set(nodeId, r)
    return r
  }

  /** Starts a runtime-only node: it hosts actors and serves `/v1/health` and `/metrics`. */
  async startRuntime(nodeId: string): Promise<RunningNode> {
    const r = await startNode(join(this.dir, nodeId), { ...this.env(nodeId), HM_ROLE: 'runtime' })
    this.runtimeNodes.set(nodeId, r)
    return r
  }

  node(nodeId: string): Running {
    const r = this.running.get(nodeId)
    if (r === undefined) throw new Error(`no node ${nodeId}`)
    return r
  }

  /** The account `HM_OPERATOR_EMAILS` names on every node: `/v1/cluster` is for instance operators. */
  get operatorEmail(): string {
    return `operator.${this.run}@cluster.example`
  }

  private operator: Promise<string> | undefined

  /** An access token of the operator, signed up on the first node asked (signed in again when renewed). */
  operatorToken(r: Running, renew = false): Promise<string> {
    if (renew) this.operator = undefined
    this.operator ??= (async () => {
      const body = { email: this.operatorEmail, password: 'operator password 1' }
      const post = (path: string, b: object) =>
        fetch(`${r.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(b),
        })
      let res = await post('/v1/auth/signup', { ...body, name: 'Operator', organization: 'Operations' })
      if (res.status === 409) res = await post('/v1/auth/login', body)
      if (res.status !== 200 && res.status !== 201)
        throw new Error(`operator sign-in ${res.status}: ${await res.text()}`)
      return ((await res.json()) as { accessToken: string }).accessToken
    })().catch((e: unknown) => {
      this.operator = undefined
      throw e
    })
    return this.operator
  }

  async view(r: Running): Promise<NodeView> {
    const get = async (renew: boolean) =>
      fetch(`${r.url}/v1/cluster`, {
        headers: { authorization: `Bearer ${await this.operatorToken(r, renew)}` },
      })
    let res = await get(false)
    // An access token lives 15 minutes; a long scene outlives it.
    if (res.status === 401) res = await get(true)
    if (res.status !== 200) throw new Error(`/v1/cluster ${res.status}: ${await res.text()}`)
    return (await res.json()) as NodeView
  }

  /** Every node sees all of `nodes` as members, and their hosts pull every shard exactly once between them. */
  async settled(nodes: Running[], timeoutMs = 60_000): Promise<void> {
    const ids = (await Promise.all(nodes.map((n) => this.view(n)))).map((v) => v.nodeId).sort()
    const every = JSON.stringify(Array.from({ length: this.o.shards }, (_, s) => s))
    await waitFor(
      () => Promise.all(nodes.map((n) => this.view(n))),
      (views) =>
        views.every((v) => JSON.stringify(v.members) === JSON.stringify(ids)) &&
        JSON.stringify(views.flatMap((v) => v.shards).sort((a, b) => a - b)) === every,
      timeoutMs,
    )
  }

  /** Clicks counted in ClickHouse for `siteId` on pages under `/<tag>/`. */
  async clicks(siteId: string, tag: string): Promise<number> {
    const rs = await this.clickhouse.query({
      query: `SELECT toString(sum(count)) AS n FROM ${this.chDatabase}.heatmap_cells WHERE site_id = {site:String} AND startsWith(page, {tag:String})`,
      query_params: { site: siteId, tag: `/${tag}/` },
      format: 'JSONEachRow',
    })
    return Number((await rs.json<{ n: string }>())[0]?.n ?? 0)
  }

  /** ClickHouse ends up with exactly `accepted` clicks under `/<tag>/`: not one fewer, not one more. */
  async exact(siteId: string, tag: string, accepted: number): Promise<number> {
    await waitFor(
      () => this.clicks(siteId, tag),
      (n) => n >= accepted,
      90_000,
    )
    // Whatever replays were still in flight have had time to land twice, if they could.
    await new Promise((r) => setTimeout(r, 1500))
    return this.clicks(siteId, tag)
  }

  /** Every node's output, for a failure's story. */
  outputs(): string {
    return [...this.running, ...this.runtimeNodes].map(([id, r]) => `==== ${id}\n${r.output()}`).join('\n')
  }

  async destroy(): Promise<void> {
    for (const r of [...this.running.values(), ...this.runtimeNodes.values()]) {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL')
      await exited(r.child)
    }
    // The connection reconnects forever and the analytics server listens: whatever fails before, they are
    // closed, or the test's process would never exit.
    try {
      await this.recorder.destroy()
      const jsm = await jetstreamManager(this.nc)
      for (const s of [this.stream, `KV_${this.cluster}_members`, `KV_${this.cluster}_leases`])
        await jsm.streams.delete(s).catch(() => undefined)
    } finally {
      await this.nc.close()
      await this.clickhouse.close()
      await this.analytics.close()
      try {
        const c = new pg.Client(pgAdmin)
        await c.connect()
        await c.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`)
        await c.end()
      } finally {
        await rm(this.dir, { recursive: true, force: true })
      }
    }
  }
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

/**
 * A NATS server of the test's own (`/usr/sbin/nats-server`, JetStream on, file store in `storeDir`), so a
 * test may stop and restart it without touching the machine's shared server on 4222.
 */
export class PrivateNatsServer {
  private child: ChildProcess | undefined
  private log = ''

  private constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  static async start(storeDir: string): Promise<PrivateNatsServer> {
    const s = new PrivateNatsServer(await freePort(), storeDir)
    await s.start()
    return s
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  /** Starts it (again) on the same port and store; resolves once it accepts clients. */
  async start(): Promise<void> {
    if (this.running) throw new Error('the NATS server is running already')
    const child = spawn(
      '/usr/sbin/nats-server',
      ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.child = child
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server not ready in 30 s:\n${this.log}`)), 30_000)
      const onData = (d: Buffer): void => {
        this.log += d.toString()
        if (this.log.includes('Server is ready')) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`nats-server exited ${code}:\n${this.log}`))
      })
      child.once('error', (e) => {
        clearTimeout(timer)
        reject(e)
      })
    })
  }

  /** SIGTERM, then waits for the process to exit. */
  async stop(): Promise<void> {
    const child = this.child
    if (child === undefined || !this.running) return
    child.kill('SIGTERM')
    await exited(child)
  }

  output(): string {
    return this.log
  }
}
