import type { ShardId, StreamSeq } from './ids.ts'

/** One stored message as a consumer sees it. */
export interface Delivery {
  readonly seq: StreamSeq
  readonly data: Uint8Array
}

export interface PublishAck {
  readonly seq: StreamSeq
  /** True when a message with the same id was already stored inside the duplicate window. */
  readonly duplicate: boolean
}

/** A durable, pull-based reader of one shard's messages. */
export interface ShardConsumer {
  /**
   * Resolves with 1..max messages after the last one pulled, waiting until at least one exists, or with
   * an empty list once `signal` aborts.
   */
  pull(max: number, signal?: AbortSignal): Promise<Delivery[]>
  /** Acknowledges every message of this shard up to and including `seq`: they will not come back. */
  ack(seq: StreamSeq): Promise<void>
  /**
   * The next pull starts again after `seq` (at or above the acknowledged floor): how a host replays what
   * it pulled but lost (a handler that threw, a worker that died).
   */
  rewind(seq: StreamSeq): void
  /**
   * The host is done with the shard (released, or stopping, after its last acknowledgement): a waiting
   * pull resolves empty and nothing more is fetched or bound on its behalf. Safe to call twice.
   */
  close(): void
}

/**
 * How messages move from the edge to the node owning a shard. Two implementations share this contract
 * (and its test suite): in-process (embedded default) and NATS JetStream (cluster).
 */
export interface Transport {
  /** Resolves only once the message is durably stored: this is what makes "accepted means kept" true. */
  publish(shard: ShardId, data: Uint8Array, msgId: string): Promise<PublishAck>
  /** The consumer of a shard; deliveries start after its last acknowledged message. */
  consumer(shard: ShardId): Promise<ShardConsumer>
  close(): Promise<void>
}
