import { hostname } from 'node:os'
import {
  ClusterClient,
  ClusterNode,
  type ClusterStatus,
  connectCluster,
  gatherNodeStats,
  JetStreamTransport,
  LeaseFence,
  type NodeStats,
  type RuntimeHost,
  type RuntimeStore,
  type Watch,
} from '@hm/runtime'
import { type Config, ConfigError, urlList } from './config.ts'

/**
 * This process as a node of a cluster: the NATS connection its transport and membership share, the
 * events stream, the fence on its sink, and (once the host runs) its membership — or, for a
 * gateway-only process (`HM_ROLE=gateway`), a client that reaches the actors of the other nodes.
 */
export class ClusterMode {
  private node: ClusterNode | ClusterClient | undefined
  readonly fence = new LeaseFence()

  private constructor(
    private readonly config: Config,
    readonly nodeId: string,
    private readonly connection: Awaited<ReturnType<typeof connectCluster>>,
    readonly transport: JetStreamTransport,
  ) {}

  /** Connects to NATS and opens the events stream (created on first use). */
  static async open(config: Config, onError: (e: unknown, where: string) => void): Promise<ClusterMode> {
    checkClusterConfig(config)
    const nodeId = clusterNodeId(config)
    const connection = await connectCluster(urlList(config.HM_NATS_URL!), nodeId)
    try {
      const transport = await JetStreamTransport.open({
        connection,
        stream: config.HM_NATS_STREAM,
        replicas: config.HM_NATS_REPLICAS,
        onError,
      })
      return new ClusterMode(config, nodeId, connection, transport)
    } catch (e) {
      await connection.close()
      throw e
    }
  }

  /** For the start-up banner. */
  get describe(): string {
    const servers = urlList(this.config.HM_NATS_URL!).map((u) => new URL(u).host)
    const as = this.config.HM_ROLE === 'gateway' ? 'gateway-only process' : 'node'
    return `NATS JetStream ${servers.join(', ')}, stream ${this.config.HM_NATS_STREAM}, ${as} ${this.nodeId} of cluster ${this.config.HM_CLUSTER}`
  }

  /** Joins the cluster with a started host (created with `shards: []`): shards come as leases are taken. */
  async join(host: RuntimeHost, onError: (e: unknown, where: string) => void): Promise<void> {
    this.node = await ClusterNode.join({
      host,
      fence: this.fence,
      connection: this.connection,
      cluster: this.config.HM_CLUSTER,
      nodeId: this.nodeId,
      leaseMs: this.config.HM_LEASE_MS,
      heartbeatMs: this.config.HM_HEARTBEAT_MS,
      replicas: this.config.HM_NATS_REPLICAS,
      ownershipSubject: this.config.HM_CLUSTER_OWNERSHIP_SUBJECT,
      onError,
    })
  }

  /** Reaches the cluster's actors without hosting any (`HM_ROLE=gateway`): takes no shard. */
  async observe(onError: (e: unknown, where: string) => void): Promise<void> {
    this.node = await ClusterClient.open({
      connection: this.connection,
      cluster: this.config.HM_CLUSTER,
      nodeId: this.nodeId,
      shardCount: this.config.HM_SHARDS,
      leaseMs: this.config.HM_LEASE_MS,
      replicas: this.config.HM_NATS_REPLICAS,
      onError,
    })
  }

  status(): ClusterStatus {
    if (this.node === undefined) throw new Error('the node has not joined its cluster yet')
    return this.node.status()
  }

  /**
   * Every runtime node's figures for the runtime dashboard, asked over NATS; the members say who should
   * have answered (a gateway-only process is none of them).
   */
  async runtimeStats(): Promise<{ members: string[]; nodes: NodeStats[] }> {
    const { members } = this.status()
    const nodes = await gatherNodeStats(this.connection, this.config.HM_CLUSTER, {
      expect: members.length,
      windowMs: 750,
    })
    return { members, nodes }
  }

  /** Asks an actor on whichever node owns it (see `ClusterNode.ask`). */
  ask<R>(type: string, key: string, request: unknown): Promise<R> {
    if (this.node === undefined) throw new Error('the node has not joined its cluster yet')
    return this.node.ask<R>(type, key, request)
  }

  /** Watches a live topic on every node (see `ClusterNode.watch`). */
  watch(topic: string, listener: (payload: unknown) => void): Watch {
    if (this.node === undefined) throw new Error('the node has not joined its cluster yet')
    return this.node.watch(topic, listener)
  }

  /** Hands every shard off (written and acknowledged) and stops the host; SIGTERM's path. */
  async drain(): Promise<void> {
    if (this.node instanceof ClusterClient) this.node.close()
    else await this.node?.drain()
  }

  /** Closes the transport, then the connection. */
  async close(): Promise<void> {
    await this.transport.close()
    if (!this.connection.isClosed()) await this.connection.drain().catch(() => this.connection.close())
  }
}

/**
 * A role other than `all` is a part of a cluster. Cluster mode needs every store of record shared by the
 * nodes: each node writes the analytics of the shards it holds, and the next owner of a shard must read
 * the positions its predecessor wrote, so embedded chDB (one data dir per process) or PGlite would split
 * the data and double count replays.
 */
export function checkClusterConfig(config: Config): void {
  if (config.HM_NATS_URL === undefined) {
    if (config.HM_ROLE !== 'all')
      throw new ConfigError(
        'HM_ROLE',
        `${config.HM_ROLE} is a part of a cluster; set HM_NATS_URL (one process runs HM_ROLE=all)`,
      )
    return
  }
  const missing = (['HM_CLICKHOUSE_URL', 'HM_DATABASE_URL', 'HM_REDIS_URL'] as const).filter(
    (v) => config[v] === undefined,
  )
  if (missing.length > 0) {
    throw new ConfigError(
      'HM_NATS_URL',
      `a cluster needs stores every node shares; set ${missing.join(', ')} as well (embedded stores are per process)`,
    )
  }
  const heartbeat = config.HM_HEARTBEAT_MS ?? Math.floor(config.HM_LEASE_MS / 5)
  if (heartbeat * 3 > config.HM_LEASE_MS) {
    throw new ConfigError(
      'HM_HEARTBEAT_MS',
      `${heartbeat} is more than a third of HM_LEASE_MS (${config.HM_LEASE_MS})`,
    )
  }
}

/** This node's id: `HM_NODE_ID`, or the host name made safe for KV keys. */
export function clusterNodeId(config: Config): string {
  return (
    config.HM_NODE_ID ??
    (hostname()
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 64) ||
      'node')
  )
}

/** The store a node's host commits its flushes to: fenced by its leases in a cluster, as given otherwise. */
export function fencedInCluster(cluster: ClusterMode | undefined, store: RuntimeStore): RuntimeStore {
  return cluster === undefined ? store : cluster.fence.guard(store)
}
