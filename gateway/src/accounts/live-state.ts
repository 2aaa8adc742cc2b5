import { randomUUID } from 'node:crypto'
import { SESSION_ACTOR, type SessionForget, sessionActorKey } from '@hm/actors'
import {
  type Envelope,
  encodeEnvelopes,
  type PublishAck,
  type ShardId,
  type StreamSeq,
  shardId,
  shardOf,
} from '@hm/runtime'

/**
 * How the management plane reaches the actors: the transport they read (the same publish ingestion
 * uses, so a message is ordered after every batch accepted before it), and the stream position up to
 * which each shard's effects are stored (applied, drained and written by a flush).
 */
export interface ActorChannel {
  shardCount: number
  publish(shard: ShardId, data: Uint8Array, msgId: string): Promise<PublishAck>
  positions(): Promise<Map<ShardId, StreamSeq>>
}

export interface ActorSyncOptions {
  /** How long to wait for the shards to store a message before the step fails (default 2 minutes). */
  timeoutMs?: number
  /** How often the stored positions are read while waiting (default 200 ms). */
  pollMs?: number
}

/** Envelopes per stream message: a message stays far below the transport's size limit. */
const ENVELOPES_PER_MESSAGE = 1000

/**
 * Messages from the management plane to the actors, and the wait until their effect is stored. A
 * shard applies its messages in stream order and a flush records the position it covers after writing
 * what it drained, so once a shard's stored position passes a message, everything accepted on that shard
 * before the message is in ClickHouse and the message itself has been applied.
 */
export class ActorSync {
  private readonly timeoutMs: number
  private readonly pollMs: number

  constructor(
    private readonly channel: ActorChannel,
    options: ActorSyncOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 120_000
    this.pollMs = options.pollMs ?? 200
  }

  /**
   * Publishes `envelopes` (grouped by shard), plus an empty message to every other shard when
   * `everyShard`, and resolves once each shard written to has stored past what it was sent. With no
   * envelopes and `everyShard`, a barrier: everything accepted before it, on any shard, is stored.
   */
  async deliver(envelopes: readonly Envelope[], o: { everyShard: boolean }): Promise<void> {
    const byShard = new Map<number, Envelope[]>()
    if (o.everyShard) for (let i = 0; i < this.channel.shardCount; i++) byShard.set(i, [])
    for (const env of envelopes) {
      const shard = shardOf(env[0], env[1], this.channel.shardCount)
      const list = byShard.get(shard)
      if (list === undefined) byShard.set(shard, [env])
      else list.push(env)
    }
    const id = randomUUID()
    const sent: Array<Promise<readonly [number, number]>> = []
    for (const [shard, envs] of byShard) {
      for (let i = 0; i === 0 || i < envs.length; i += ENVELOPES_PER_MESSAGE) {
        const part = envs.slice(i, i + ENVELOPES_PER_MESSAGE)
        sent.push(
          this.channel
            .publish(shardId(shard), encodeEnvelopes(part), `mgmt:${id}:${shard}:${i}`)
            .then((ack) => [shard, ack.seq] as const),
        )
      }
    }
    const wanted = new Map<number, number>()
    for (const [shard, seq] of await Promise.all(sent))
      wanted.set(shard, Math.max(wanted.get(shard) ?? 0, seq))
    await this.stored(wanted)
  }

  private async stored(wanted: Map<number, number>): Promise<void> {
    const deadline = Date.now() + this.timeoutMs
    for (;;) {
      const at = await this.channel.positions()
      const behind = [...wanted].filter(([shard, seq]) => (at.get(shardId(shard)) ?? 0) < seq)
      if (behind.length === 0) return
      if (Date.now() >= deadline) {
        throw new Error(
          `shards ${behind.map(([s]) => s).join(', ')} did not store the erase request within ${this.timeoutMs / 1000} s ` +
            '(is every shard owned by a running node?); the request stays queued and asking again repeats it',
        )
      }
      await new Promise((r) => setTimeout(r, this.pollMs))
    }
  }

  /**
   * Makes sessions forget their visitor (`SessionForget`) and waits until it is stored: their live state
   * is empty and writes nothing more. `sessions` are `[sessionId, visitorId]` of `siteId`.
   */
  async forgetSessions(siteId: string, sessions: ReadonlyArray<readonly [string, string]>): Promise<void> {
    if (sessions.length === 0) return
    await this.deliver(
      sessions.map(([sessionId, visitorId]): Envelope => {
        const m: SessionForget = { forget: visitorId }
        return [SESSION_ACTOR, sessionActorKey(siteId, sessionId), m]
      }),
      { everyShard: false },
    )
  }

  /** Waits until everything accepted before now, on every shard, is applied and stored. */
  barrier(): Promise<void> {
    return this.deliver([], { everyShard: true })
  }
}
