import { createInbox, type NatsConnection, type Subscription } from '@nats-io/transport-node'
import { Packr } from 'msgpackr'
import type { RuntimeHost } from '../host/main.ts'

const packr = new Packr({ useRecords: false })

/** What one actor type counts on a node; counters are since the node started. */
export interface NodeTypeStats {
  active: number
  activations: number
  passivations: number
  turns: number
  deadLetters: number
}

/** One worker thread of a node's host. */
export interface NodeWorkerStats {
  threadId: number
  activeActors: number
  /** Shards routed to this worker. */
  shards: number
  heapUsed: number
}

/**
 * A node's figures at one moment, as a runtime dashboard shows them. Counters (`turns`, `delivered`,
 * `deadLetters`…) run from the node's start, so a rate is the difference of two samples over their `at`s
 * (the same node's clock).
 */
export interface NodeStats {
  nodeId: string
  /** When sampled, ms since the epoch by the node's clock. */
  at: number
  threads: number
  /** Shards the node's host pulls now, ascending. */
  shards: number[]
  workers: NodeWorkerStats[]
  byType: Record<string, NodeTypeStats>
  activeActors: number
  /** Messages pulled from the transport and not yet handled, over all its shards. */
  mailboxDepth: number
  delivered: number
  applied: number
  deadLetters: number
  replays: number
  unwrittenBatches: number
}

/** Samples a host's figures (the workers are asked over the control plane). */
export async function nodeStats(host: RuntimeHost, nodeId: string): Promise<NodeStats> {
  const [metrics, workers] = await Promise.all([host.metrics(), host.workerStats()])
  const s = host.stats()
  const byType: Record<string, NodeTypeStats> = {}
  for (const [type, t] of Object.entries(metrics.byType))
    byType[type] = {
      active: t.active,
      activations: t.activations,
      passivations: t.passivations,
      turns: t.turns,
      deadLetters: t.deadLetters,
    }
  return {
    nodeId,
    at: Date.now(),
    threads: s.threads,
    shards: [...host.shards()].sort((a, b) => a - b),
    workers: workers
      .map((w) => ({
        threadId: w.threadId,
        activeActors: w.activeActors,
        shards: w.shards,
        heapUsed: w.heapUsed,
      }))
      .sort((a, b) => a.threadId - b.threadId),
    byType,
    activeActors: s.activeActors,
    mailboxDepth: s.mailboxDepth,
    delivered: s.delivered,
    applied: s.applied,
    deadLetters: s.deadLetters,
    replays: s.replays,
    unwrittenBatches: s.unwrittenBatches,
  }
}

const subject = (cluster: string): string => `rt.stats.${cluster}`

/**
 * Answers `rt.stats.<cluster>` with this node's figures, so any process of the cluster can gather every
 * node's (`gatherNodeStats`). Every node subscribes without a queue group: one request, one reply per node.
 * Returns what stops answering.
 */
export function serveNodeStats(o: {
  connection: NatsConnection
  cluster: string
  nodeId: string
  host: RuntimeHost
  onError: (e: unknown, where: string) => void
}): { close(): void } {
  const sub: Subscription = o.connection.subscribe(subject(o.cluster), {
    callback: (err, msg) => {
      if (err) return o.onError(err, 'stats subscription')
      nodeStats(o.host, o.nodeId).then(
        (stats) => msg.respond(packr.pack(stats)),
        // A host stopping cannot be sampled: the asker misses this node for one round, and says so.
        (e: unknown) => o.onError(e, 'stats sample'),
      )
    },
  })
  return { close: () => sub.unsubscribe() }
}

/**
 * Every node's figures: one request on `rt.stats.<cluster>`, replies gathered until `expect` distinct
 * nodes answered or `windowMs` passed, whichever comes first. Sorted by node id; a node that did not
 * answer in time is absent (compare with the members to tell who).
 *
 * @example
 * const nodes = await gatherNodeStats(connection, 'hm', { expect: node.status().members.length })
 */
export async function gatherNodeStats(
  connection: NatsConnection,
  cluster: string,
  o: { windowMs?: number; expect?: number } = {},
): Promise<NodeStats[]> {
  const got = new Map<string, NodeStats>()
  const inbox = createInbox()
  await new Promise<void>((resolve, reject) => {
    let finished = false
    const timer = setTimeout(done, o.windowMs ?? 500)
    const sub = connection.subscribe(inbox, {
      callback: (err, msg) => {
        if (err) return done()
        const stats = packr.unpack(msg.data) as NodeStats
        got.set(stats.nodeId, stats)
        if (o.expect !== undefined && got.size >= o.expect) done()
      },
    })
    function done(): void {
      if (finished) return
      finished = true
      clearTimeout(timer)
      sub.unsubscribe()
      resolve()
    }
    try {
      connection.publish(subject(cluster), new Uint8Array(0), { reply: inbox })
    } catch (e) {
      finished = true
      clearTimeout(timer)
      sub.unsubscribe()
      reject(e)
    }
  })
  return [...got.values()].sort((a, b) => a.nodeId.localeCompare(b.nodeId))
}
