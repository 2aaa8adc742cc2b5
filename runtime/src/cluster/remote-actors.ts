import { type NatsConnection, RequestError, type Subscription, TimeoutError } from '@nats-io/transport-node'
import { Packr } from 'msgpackr'
import { RuntimeError, type RuntimeErrorCode, runtimeErrors } from '../errors.ts'
import type { Watch } from '../host/options.ts'
import { type ShardId, shardOf } from '../ids.ts'

const packr = new Packr({ useRecords: false })

/** How often a node says again which topics it watches; an interest not heard of for 3 of these lapses. */
const INTEREST_EVERY_MS = 2000

type AskReply = { ok: unknown } | { error: { code: string; message: string } }
type Interest = { node: string; topics: string[] }
type LiveMessage = { node: string; payload: unknown }

/**
 * The actors of this process, if it has any: a node's `RuntimeHost`, or `noLocalActors` for a process
 * that only calls actors elsewhere (a gateway-only node).
 */
export interface LocalActors {
  readonly options: { readonly shardCount: number; readonly askTimeoutMs: number }
  shards(): ShardId[]
  ask<R>(type: string, key: string, request: unknown): Promise<R>
  watch(topic: string, listener: (payload: unknown) => void): Watch
}

/** A process without actors: it pulls no shard, so every ask goes over NATS and nothing publishes here. */
export function noLocalActors(options: { shardCount: number; askTimeoutMs?: number }): LocalActors {
  const resolved = { shardCount: options.shardCount, askTimeoutMs: options.askTimeoutMs ?? 5000 }
  return {
    options: resolved,
    shards: () => [],
    ask: (type, key) =>
      Promise.reject(new RuntimeError('RT_ERR_BAD_OPTION', `${type}/${key}: this process hosts no actors`)),
    watch: () => Object.assign(() => {}, { ready: Promise.resolve() }),
  }
}

/** A topic as one subject token (topics are free text: slashes, dots, spaces). */
const token = (topic: string): string => Buffer.from(topic).toString('base64url')

/**
 * Asks and live topics across the nodes of a cluster, over NATS core (request/reply and plain subjects):
 * what makes the actors location-transparent for callers outside them. Tells need nothing of this: they
 * go through the transport to whichever node owns the shard.
 *
 * - Ask: a node answers on `rt.ask.<cluster>.<shard>` for each shard its host pulls; a caller asks its
 *   own host when the shard is its own and the owner over NATS otherwise, retrying while a shard is
 *   between owners (no responder) until the ask times out.
 * - Watch: a node announces the topics its callers watch on `rt.interest.<cluster>` (again every 2 s; an
 *   interest not renewed lapses). A node whose actors may publish on a topic others watch forwards its
 *   host's publishes to `rt.live.<cluster>.<topic>`, and a watcher hears both its own host and that
 *   subject — actors still publish only while someone, somewhere, watches.
 */
export class RemoteActors {
  private readonly answering = new Map<ShardId, Subscription>()
  /** Topics this node's callers watch, with their listeners. */
  private readonly local = new Map<string, { listeners: Set<(p: unknown) => void>; stop: () => void }>()
  /** Topics other nodes watch: when each was last announced, per node, and this node's forwarding. */
  private readonly remote = new Map<string, { nodes: Map<string, number>; stop: Watch }>()
  private readonly subscriptions: Subscription[] = []
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly nc: NatsConnection,
    private readonly cluster: string,
    private readonly nodeId: string,
    private readonly host: LocalActors,
    private readonly onError: (e: unknown, where: string) => void,
  ) {
    const interest = nc.subscribe(`rt.interest.${cluster}`, {
      callback: (err, msg) => {
        if (err) return onError(err, 'interest subscription')
        const { node, topics } = packr.unpack(msg.data) as Interest
        if (node !== this.nodeId) this.heard(node, topics)
      },
    })
    this.subscriptions.push(interest)
    this.timer = setInterval(() => {
      this.announce()
      this.lapse()
    }, INTEREST_EVERY_MS)
    this.timer.unref()
  }

  /** Starts answering asks for `shard` (its host now pulls it). */
  serve(shard: ShardId): void {
    if (this.answering.has(shard)) return
    const sub = this.nc.subscribe(`rt.ask.${this.cluster}.${shard}`, {
      callback: (err, msg) => {
        if (err) return this.onError(err, `ask subscription of shard ${shard}`)
        const [type, key, request] = packr.unpack(msg.data) as [string, string, unknown]
        this.host.ask(type, key, request).then(
          (ok) => msg.respond(packr.pack({ ok } satisfies AskReply)),
          (e: unknown) =>
            msg.respond(
              packr.pack({
                error: {
                  code: e instanceof RuntimeError ? e.code : '',
                  message: e instanceof Error ? e.message : String(e),
                },
              } satisfies AskReply),
            ),
        )
      },
    })
    this.answering.set(shard, sub)
  }

  /** Stops answering for `shard` (handed off or lost): asks go to its next owner. */
  unserve(shard: ShardId): void {
    this.answering.get(shard)?.unsubscribe()
    this.answering.delete(shard)
  }

  /** Asks an actor wherever its shard is; `RT_ERR_ASK_TIMEOUT` past the host's ask timeout. */
  async ask<R>(type: string, key: string, request: unknown): Promise<R> {
    const shard = shardOf(type, key, this.host.options.shardCount)
    if (this.host.shards().includes(shard)) return this.host.ask<R>(type, key, request)
    const deadline = Date.now() + this.host.options.askTimeoutMs
    const data = packr.pack([type, key, request])
    for (;;) {
      const left = deadline - Date.now()
      if (left <= 0) throw new RuntimeError('RT_ERR_ASK_TIMEOUT', `${type}/${key} on shard ${shard}`)
      let reply: AskReply
      try {
        const msg = await this.nc.request(`rt.ask.${this.cluster}.${shard}`, data, { timeout: left })
        reply = packr.unpack(msg.data) as AskReply
      } catch (e) {
        // No node answers for the shard right now (between owners): ask again shortly.
        if (e instanceof RequestError && e.isNoResponders()) {
          await new Promise((r) => setTimeout(r, Math.min(100, left)))
          continue
        }
        if (e instanceof TimeoutError || (e instanceof RequestError && e.cause instanceof TimeoutError))
          throw new RuntimeError('RT_ERR_ASK_TIMEOUT', `${type}/${key} on shard ${shard}`)
        throw e
      }
      if ('ok' in reply) return reply.ok as R
      const code = reply.error.code
      if (code in runtimeErrors)
        throw new RuntimeError(code as RuntimeErrorCode, `on another node: ${reply.error.message}`)
      throw new Error(`ask ${type}/${key} failed on another node: ${reply.error.message}`)
    }
  }

  /** Watches a topic on every node: this host's publishes and the other nodes' forwarded ones. */
  watch(topic: string, listener: (payload: unknown) => void): Watch {
    let entry = this.local.get(topic)
    let ready: Promise<void>
    if (entry === undefined) {
      const listeners = new Set<(p: unknown) => void>()
      const each = (p: unknown): void => {
        for (const l of listeners) l(p)
      }
      const own = this.host.watch(topic, each)
      const sub = this.nc.subscribe(`rt.live.${this.cluster}.${token(topic)}`, {
        callback: (err, msg) => {
          if (err) return this.onError(err, `live subscription of ${topic}`)
          const m = packr.unpack(msg.data) as LiveMessage
          // This node's own forwarding (for others' watchers) is heard through its host already.
          if (m.node !== this.nodeId) each(m.payload)
        },
      })
      entry = {
        listeners,
        stop: () => {
          own()
          sub.unsubscribe()
        },
      }
      this.local.set(topic, entry)
      this.announce()
      // Other nodes start forwarding when they hear of it; their own hosts' readiness is theirs.
      ready = own.ready.then(() => this.nc.flush())
    } else ready = Promise.resolve()
    entry.listeners.add(listener)
    const stop = (): void => {
      const e = this.local.get(topic)
      if (e === undefined || !e.listeners.delete(listener) || e.listeners.size > 0) return
      e.stop()
      this.local.delete(topic)
      this.announce()
    }
    return Object.assign(stop, { ready })
  }

  close(): void {
    clearInterval(this.timer)
    for (const s of this.answering.values()) s.unsubscribe()
    this.answering.clear()
    for (const s of this.subscriptions) s.unsubscribe()
    for (const e of this.local.values()) e.stop()
    this.local.clear()
    for (const r of this.remote.values()) r.stop()
    this.remote.clear()
  }

  private announce(): void {
    if (this.nc.isClosed()) return
    this.nc.publish(
      `rt.interest.${this.cluster}`,
      packr.pack({ node: this.nodeId, topics: [...this.local.keys()] } satisfies Interest),
    )
  }

  /** `node` watches exactly `topics` now: forward this host's publishes of those, stop the others. */
  private heard(node: string, topics: string[]): void {
    const now = Date.now()
    const wanted = new Set(topics)
    for (const topic of topics) {
      let r = this.remote.get(topic)
      if (r === undefined) {
        const subject = `rt.live.${this.cluster}.${token(topic)}`
        const stop = this.host.watch(topic, (payload) => {
          if (!this.nc.isClosed())
            this.nc.publish(subject, packr.pack({ node: this.nodeId, payload } satisfies LiveMessage))
        })
        r = { nodes: new Map(), stop }
        this.remote.set(topic, r)
      }
      r.nodes.set(node, now)
    }
    for (const [topic, r] of this.remote) if (!wanted.has(topic)) this.drop(topic, r, node)
  }

  private lapse(): void {
    const horizon = Date.now() - 3 * INTEREST_EVERY_MS
    for (const [topic, r] of this.remote)
      for (const [node, at] of r.nodes) if (at < horizon) this.drop(topic, r, node)
  }

  private drop(topic: string, r: { nodes: Map<string, number>; stop: Watch }, node: string): void {
    if (!r.nodes.delete(node) || r.nodes.size > 0) return
    r.stop()
    this.remote.delete(topic)
  }
}
