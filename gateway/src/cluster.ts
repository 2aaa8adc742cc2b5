import { hostname } from 'node:os'
import {
  ClusterNode,
  type ClusterStatus,
  connectCluster,
  JetStreamTransport,
  LeaseFence,
  type RuntimeHost,
  type RuntimeStore,
  type Watch,
} from '@hm/runtime'
import { type Config, ConfigError } from './config.ts'

/**
 * This process as a node of a cluster: the NATS connection its transport and membership share, the
 * events stream, the fence on its sink, and (once the host runs) its membership.
 */
export class ClusterMode {
  private node: ClusterNode | undefined
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
    const connection = await connectCluster(config.HM_NATS_URL!, nodeId)
    try {
      const transport = await JetStreamTransport.open({ connection, stream: config.HM_NATS_STREAM, onError })
      return new ClusterMode(config, nodeId, connection, transport)
    } catch (e) {
      await connection.close()
      throw e
    }
  }

  /** For the start-up banner. */
  get describe(): string {
    return `NATS JetStream ${new URL(this.config.HM_NATS_URL!).host}, stream ${this.config.HM_NATS_STREAM}, node ${this.nodeId} of cluster ${this.config.HM_CLUSTER}`
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
      ownershipSubject: this.config.HM_CLUSTER_OWNERSHIP_SUBJECT,
      onError,
    })
  }

  status(): ClusterStatus {
    if (this.node === undefined) throw new Error('the node has not joined its cluster yet')
    return this.node.status()
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
    await this.node?.drain()
  }

  /** Closes the transport, then the connection. */
  async close(): Promise<void> {
    await this.transport.close()
    if (!this.connection.isClosed()) await this.connection.drain().catch(() => this.connection.close())
  }
}

/**
 * Cluster mode needs every store of record shared by the nodes: each node writes the analytics of the
 * shards it holds, and the next owner of a shard must read the positions its predecessor wrote, so
 * embedded chDB (one data dir per process) or PGlite would split the data and double count replays.
 */
export function checkClusterConfig(config: Config): void {
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
