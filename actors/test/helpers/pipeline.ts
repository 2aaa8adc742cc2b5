import { randomUUID } from 'node:crypto'
import type { ActorLogic, Envelope, FlushBatch } from '@hm/runtime'
import { shardId, streamSeq } from '@hm/runtime'
import { Packr } from 'msgpackr'
import {
  type AcceptedEvent,
  type BatchContext,
  type ClickHouseSink,
  encodeTableRows,
  normalizePage,
  pageActor,
  type RouteOptions,
  routeBatch,
  sessionActor,
  type WireEvent,
} from '../../src/index.ts'
import { TestContext } from './context.ts'

// The runtime's envelope encoding (msgpackr without records); the runtime exports only the encoder.
const packr = new Packr({ useRecords: false })
export const decodeEnvelopes = (data: Uint8Array): Envelope[] => packr.unpack(data) as Envelope[]

export const accepted = (e: WireEvent): AcceptedEvent => ({ ...e, page: normalizePage(e.url) })

interface Activation {
  logic: ActorLogic
  state: unknown
  ctx: TestContext<unknown>
}

/**
 * The path of a batch without threads or transport: `routeBatch` → envelopes → actor logic, with a
 * simulated clock; `flush` drains every actor into the sink like the runtime host does.
 */
export class Pipeline {
  readonly actors = new Map<string, Activation>()
  private readonly logics = new Map<string, ActorLogic>([
    [pageActor.type, pageActor as ActorLogic],
    [sessionActor.type, sessionActor as ActorLogic],
  ])
  private seq = 0
  private readonly id = randomUUID()
  clock: number

  constructor(
    start = Date.UTC(2026, 10, 20, 12),
    private readonly shardCount = 16,
  ) {
    this.clock = start
  }

  send(ctx: BatchContext, events: WireEvent[], options?: RouteOptions): void {
    for (const p of routeBatch(ctx, events.map(accepted), this.shardCount, options)) {
      for (const env of decodeEnvelopes(p.data)) this.deliver(env)
    }
  }

  deliver([type, key, message]: Envelope): void {
    const id = `${type}\u0000${key}`
    let a = this.actors.get(id)
    if (a === undefined) {
      const logic = this.logics.get(type)
      if (logic === undefined) throw new Error(`no actor type ${type}`)
      const ctx = new TestContext<unknown>(type, key, this.clock)
      a = { logic, ctx, state: logic.initial(ctx.key, ctx) }
      this.actors.set(id, a)
    }
    a.ctx.clock = this.clock
    a.state = a.logic.receive(a.state, message, a.ctx)
  }

  /** Moves every actor's clock and runs the timers that came due. */
  advance(ms: number): void {
    this.clock += ms
    for (const a of this.actors.values()) {
      for (const m of a.ctx.advance(this.clock - a.ctx.clock)) a.state = a.logic.receive(a.state, m, a.ctx)
      a.ctx.clock = this.clock
    }
  }

  drain(): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {}
    for (const a of this.actors.values()) {
      a.ctx.clock = this.clock
      const d = a.logic.drain?.(a.state, a.ctx) ?? []
      if (d.length === 0) continue
      const list = out[a.ctx.type]
      if (list === undefined) out[a.ctx.type] = d
      else list.push(...d)
    }
    return out
  }

  async flush(sink: ClickHouseSink): Promise<FlushBatch> {
    const batch: FlushBatch = {
      shard: shardId(0),
      upTo: streamSeq(++this.seq),
      // Encoded as a worker does before the host hands the batch to the sink.
      drained: encodeTableRows(this.drain(), new Map()),
    }
    // Tokens must not repeat across pipelines writing to one database: ClickHouse would drop the insert.
    await sink.write([batch], `${this.id}-${this.seq}`)
    return batch
  }
}
