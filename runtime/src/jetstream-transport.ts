import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream'
import { connect, type NatsConnection, nanos, TimeoutError } from '@nats-io/transport-node'
import { RuntimeError } from './errors.ts'
import { type ShardId, streamSeq } from './ids.ts'
import { isApiError, JetStreamShardConsumer } from './jetstream-shard-consumer.ts'
import type { PublishAck, ShardConsumer, Transport } from './transport.ts'

export interface JetStreamTransportOptions {
  /** NATS server URL(s): the transport opens its own connection and closes it on `close()`. */
  servers?: string | string[]
  /** An open connection to share instead; `close()` leaves it open. */
  connection?: NatsConnection
  /** Name of the stream holding every shard's messages. */
  stream?: string
  /** Shard `n` publishes on `<subjectPrefix>.<n>`. */
  subjectPrefix?: string
  /** Shard `n` is read by the durable consumer `<consumerPrefix><n>`. */
  consumerPrefix?: string
  /** How long JetStream remembers a `Nats-Msg-Id` to drop retried publishes. */
  duplicateWindowMs?: number
  /** Messages older than this leave the stream, read or not (`0`: kept until `maxBytes`). */
  maxAgeMs?: number
  /** Past this size the stream refuses publishes (RT_ERR_TRANSPORT_FULL) rather than drop accepted data. */
  maxBytes?: number
  replicas?: number
  /** A delivery not acknowledged for this long is sent again. */
  ackWaitMs?: number
  /** The server stops delivering a shard's messages while this many are unacknowledged. */
  maxAckPending?: number
  /** Messages asked for in one pull request. */
  fetchBatch?: number
  /** How long one pull request waits on the server for messages. */
  fetchExpiresMs?: number
  onError?: (e: unknown, where: string) => void
}

interface ResolvedOptions {
  stream: string
  subjectPrefix: string
  consumerPrefix: string
  duplicateWindowMs: number
  maxAgeMs: number
  maxBytes: number
  replicas: number
  ackWaitMs: number
  maxAckPending: number
  fetchBatch: number
  fetchExpiresMs: number
  onError: (e: unknown, where: string) => void
}

const NAME = /^[A-Za-z0-9_-]+$/
const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

/**
 * The cluster transport: one JetStream stream, a subject per shard, one durable pull consumer per shard
 * acknowledged cumulatively (AckPolicy all). Taking a shard re-creates its durable at the acknowledged
 * floor: on a 2.9 server there is no consumer reset, and deliveries a previous owner pulled but never
 * acknowledged would otherwise come back only after the ack wait, behind newer ones.
 *
 * @example
 * const t = await JetStreamTransport.open({ servers: 'nats://127.0.0.1:4222', stream: 'EVENTS', subjectPrefix: 'ev' })
 * await t.publish(shardId(3), bytes, 'batch-42')
 */
export class JetStreamTransport implements Transport {
  private readonly consumers = new Map<number, JetStreamShardConsumer>()
  private closed = false

  private constructor(
    private readonly nc: NatsConnection,
    private readonly ownsConnection: boolean,
    readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly options: ResolvedOptions,
  ) {}

  /** Connects (unless given a connection) and creates the stream when it does not exist yet. */
  static async open(options: JetStreamTransportOptions): Promise<JetStreamTransport> {
    const o = resolve(options)
    const nc = options.connection ?? (await connect({ servers: options.servers!, maxReconnectAttempts: -1 }))
    try {
      const jsm = await jetstreamManager(nc)
      const t = new JetStreamTransport(nc, options.connection === undefined, jetstream(nc), jsm, o)
      await t.ensureStream()
      return t
    } catch (e) {
      if (options.connection === undefined) await nc.close()
      throw e
    }
  }

  subject(shard: ShardId): string {
    return `${this.options.subjectPrefix}.${shard}`
  }

  async publish(shard: ShardId, data: Uint8Array, msgId: string): Promise<PublishAck> {
    if (this.closed) throw new RuntimeError('RT_ERR_TRANSPORT_CLOSED')
    try {
      const pa = await this.js.publish(this.subject(shard), data, { msgID: msgId })
      return { seq: streamSeq(pa.seq), duplicate: pa.duplicate }
    } catch (e) {
      // The stream is at maxBytes: the caller should slow down (HTTP 429), nothing accepted is dropped.
      if (
        e instanceof JetStreamApiError &&
        /maximum (bytes|messages)|insufficient resources/i.test(e.message)
      ) {
        throw new RuntimeError('RT_ERR_TRANSPORT_FULL', e.message)
      }
      // No answer (the server is down or restarting: while the client redials it drops what it buffered),
      // or no JetStream behind the subject yet. The message may have been stored: the caller retries with
      // the same id and the duplicate window keeps it once.
      if (
        e instanceof TimeoutError ||
        (e instanceof Error && e.name === 'JetStreamNotEnabled') ||
        (e instanceof JetStreamApiError && e.status === 503)
      ) {
        throw new RuntimeError('RT_ERR_TRANSPORT_UNAVAILABLE', e.message)
      }
      throw e
    }
  }

  /**
   * Binds this node to the shard's durable consumer, starting after its acknowledged floor. A consumer
   * object obtained earlier for the same shard stops serving.
   */
  async consumer(shard: ShardId): Promise<ShardConsumer> {
    if (this.closed) throw new RuntimeError('RT_ERR_TRANSPORT_CLOSED')
    this.consumers.get(shard)?.close()
    this.consumers.delete(shard)
    const floor = await this.bind(shard)
    const c = new JetStreamShardConsumer(
      {
        js: this.js,
        stream: this.options.stream,
        consumerName: this.consumerName(shard),
        fetchBatch: this.options.fetchBatch,
        fetchExpiresMs: this.options.fetchExpiresMs,
        onError: this.options.onError,
        bind: (from) => this.bind(shard, from),
        closed: () => this.nc.isClosed(),
      },
      shard,
      floor,
    )
    this.consumers.set(shard, c)
    return c
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const c of this.consumers.values()) c.close()
    this.consumers.clear()
    if (!this.ownsConnection || this.nc.isClosed()) return
    // Drain lets acknowledgements already written reach the server before the socket goes.
    await this.nc.drain().catch(() => this.nc.close())
  }

  consumerName(shard: ShardId): string {
    return `${this.options.consumerPrefix}${shard}`
  }

  /**
   * (Re)creates the shard's durable so its next delivery is the first message after `floor`, which is
   * read from the server when not given. Returns the floor used.
   */
  async bind(shard: ShardId, floor?: number): Promise<number> {
    const { stream } = this.options
    const name = this.consumerName(shard)
    let from = floor
    if (from === undefined) {
      try {
        from = (await this.jsm.consumers.info(stream, name)).ack_floor.stream_seq
      } catch (e) {
        if (!isApiError(e, JetStreamApiCodes.ConsumerNotFound)) throw e
        from = 0
      }
    }
    await deleteDurable(this.jsm, stream, name)
    await this.jsm.consumers.add(stream, {
      durable_name: name,
      filter_subject: this.subject(shard),
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: from + 1,
      ack_wait: nanos(this.options.ackWaitMs),
      max_ack_pending: this.options.maxAckPending,
      max_deliver: -1,
    })
    return from
  }

  private async ensureStream(): Promise<void> {
    const o = this.options
    const subjects = [`${o.subjectPrefix}.*`]
    try {
      const { config } = await this.jsm.streams.info(o.stream)
      if (!config.subjects?.includes(subjects[0]!) || config.retention !== RetentionPolicy.Limits) {
        throw new RuntimeError(
          'RT_ERR_TRANSPORT_STREAM_MISMATCH',
          `stream ${o.stream} has subjects ${JSON.stringify(config.subjects)} and retention ${config.retention}; expected ${subjects[0]} and limits`,
        )
      }
      return
    } catch (e) {
      if (!isApiError(e, JetStreamApiCodes.StreamNotFound)) throw e
    }
    await this.jsm.streams.add({
      name: o.stream,
      subjects,
      // Limits, not interest or work-queue: re-creating a durable must never make the server drop messages.
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      max_age: nanos(o.maxAgeMs),
      max_bytes: o.maxBytes,
      duplicate_window: nanos(o.duplicateWindowMs),
      num_replicas: o.replicas,
    })
  }
}

/** How often `deleteDurable` asks the server to delete a durable before it gives up. */
const DELETE_ATTEMPTS = 5

/**
 * Deletes the durable of that name from the stream, if there is one. The server can fail a delete after it
 * took the durable out of the stream: it could not remove the durable's directory while the durable's state
 * was still being flushed into it (nats-server 2.9: `unlinkat …: directory not empty`, status 500). Asked
 * again, it finds no durable of that name.
 */
export async function deleteDurable(jsm: JetStreamManager, stream: string, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await jsm.consumers.delete(stream, name)
      return
    } catch (e) {
      if (isApiError(e, JetStreamApiCodes.ConsumerNotFound)) return
      if (!isServerFailure(e) || attempt === DELETE_ATTEMPTS) throw e
    }
    await new Promise((r) => setTimeout(r, 25 * 2 ** attempt))
  }
}

/** An error the server answered with about itself (status 500), not about the request. */
function isServerFailure(e: unknown): boolean {
  return e instanceof JetStreamApiError && e.status === 500
}

function resolve(o: JetStreamTransportOptions): ResolvedOptions {
  if (o.servers === undefined && o.connection === undefined) {
    throw new RuntimeError('RT_ERR_BAD_OPTION', 'JetStream transport needs servers or connection')
  }
  const r: ResolvedOptions = {
    stream: o.stream ?? 'HM_EVENTS',
    subjectPrefix: o.subjectPrefix ?? 'hm.ev',
    consumerPrefix: o.consumerPrefix ?? 'shard-',
    duplicateWindowMs: o.duplicateWindowMs ?? 120_000,
    maxAgeMs: o.maxAgeMs ?? 7 * 24 * 3600_000,
    maxBytes: o.maxBytes ?? -1,
    replicas: o.replicas ?? 1,
    ackWaitMs: o.ackWaitMs ?? 60_000,
    maxAckPending: o.maxAckPending ?? 10_000,
    fetchBatch: o.fetchBatch ?? 256,
    fetchExpiresMs: o.fetchExpiresMs ?? 10_000,
    onError: o.onError ?? ((e, where) => console.error(`[jetstream] ${where}:`, e)),
  }
  if (!NAME.test(r.stream)) throw new RuntimeError('RT_ERR_BAD_OPTION', `stream=${r.stream}`)
  if (!SUBJECT.test(r.subjectPrefix))
    throw new RuntimeError('RT_ERR_BAD_OPTION', `subjectPrefix=${r.subjectPrefix}`)
  if (!NAME.test(`${r.consumerPrefix}0`)) {
    throw new RuntimeError('RT_ERR_BAD_OPTION', `consumerPrefix=${r.consumerPrefix}`)
  }
  const positive: Array<[string, number, number]> = [
    ['duplicateWindowMs', r.duplicateWindowMs, 1],
    ['maxAgeMs', r.maxAgeMs, 0],
    ['replicas', r.replicas, 1],
    ['ackWaitMs', r.ackWaitMs, 1000],
    ['maxAckPending', r.maxAckPending, 1],
    ['fetchBatch', r.fetchBatch, 1],
    ['fetchExpiresMs', r.fetchExpiresMs, 1000],
  ]
  for (const [name, v, min] of positive) {
    if (!Number.isInteger(v) || v < min)
      throw new RuntimeError('RT_ERR_BAD_OPTION', `${name}=${v} (at least ${min})`)
  }
  if (!Number.isInteger(r.maxBytes) || (r.maxBytes < 1 && r.maxBytes !== -1)) {
    throw new RuntimeError('RT_ERR_BAD_OPTION', `maxBytes=${r.maxBytes} (positive, or -1 for no limit)`)
  }
  return r
}
