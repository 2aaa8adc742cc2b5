import {
  type Consumer,
  type ConsumerMessages,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream'
import { RuntimeError } from './errors.ts'
import { type ShardId, type StreamSeq, streamSeq } from './ids.ts'
import type { Delivery, ShardConsumer } from './transport.ts'

/** What a shard's consumer needs of its transport. */
export interface ShardBinding {
  readonly js: JetStreamClient
  readonly stream: string
  readonly consumerName: string
  readonly fetchBatch: number
  readonly fetchExpiresMs: number
  onError(e: unknown, where: string): void
  /** Re-creates the durable so that its next delivery is the first message after `floor`. */
  bind(floor: number): Promise<unknown>
  /** Whether the connection was closed for good: nothing can be fetched or bound any more. */
  closed(): boolean
}

interface Entry {
  seq: number
  data: Uint8Array
  /** The latest delivery of this message: acknowledging an older one can be ignored by the server. */
  msg: JsMsg
  /** Which incarnation of the durable delivered `msg`; acks only go through the current one. */
  epoch: number
}

interface FetchRun {
  iter?: ConsumerMessages
}

/**
 * Serves one shard from a local buffer of deliveries not yet acknowledged, so `rewind` is a cursor move
 * and redeliveries (ack wait, a re-created durable) are recognised by sequence and never served twice.
 * Pull requests go out only while someone pulls, one at a time, which bounds the buffer to what the
 * host holds unacknowledged plus one batch.
 */
export class JetStreamShardConsumer implements ShardConsumer {
  private entries: Entry[] = []
  private cursor: number
  private ackFloor: number
  /** Highest sequence the server has confirmed as acknowledged. */
  private serverFloor: number
  private highest: number
  private lastDelivery = 0
  private epoch = 0
  private handle: Consumer | undefined
  private run: FetchRun | undefined
  private rebinding: Promise<void> | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private failures = 0
  private readonly waiters = new Set<() => void>()
  private wakeScheduled = false
  private lateAck: JsMsg | undefined
  private closed = false

  constructor(
    private readonly b: ShardBinding,
    private readonly shard: ShardId,
    floor: number,
  ) {
    this.cursor = this.ackFloor = this.serverFloor = this.highest = floor
  }

  async pull(max: number, signal?: AbortSignal): Promise<Delivery[]> {
    if (!Number.isInteger(max) || max < 1) throw new RuntimeError('RT_ERR_BAD_OPTION', `pull max=${max}`)
    for (;;) {
      if (signal?.aborted || this.closed) return []
      const from = firstAfter(this.entries, this.cursor)
      if (from < this.entries.length) {
        const out = this.entries.slice(from, from + max).map((e) => ({ seq: streamSeq(e.seq), data: e.data }))
        this.cursor = out[out.length - 1]!.seq
        // Keep one request in flight while the host works through this batch.
        if (this.entries.length - from - out.length < this.b.fetchBatch / 2) this.pump()
        return out
      }
      this.pump()
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal?.removeEventListener('abort', done)
          this.waiters.delete(done)
          resolve()
        }
        signal?.addEventListener('abort', done, { once: true })
        this.waiters.add(done)
      })
      // Nobody waits any more: let the server forget the pull request rather than deliver into it.
      if (signal?.aborted && this.waiters.size === 0) this.stopFetch()
    }
  }

  async ack(seq: StreamSeq): Promise<void> {
    if (seq <= this.ackFloor) return
    const upto = firstAfter(this.entries, seq)
    let handle: JsMsg | undefined
    for (let i = upto - 1; i >= 0 && handle === undefined; i--) {
      if (this.entries[i]!.epoch === this.epoch) handle = this.entries[i]!.msg
    }
    this.entries.splice(0, upto)
    this.ackFloor = seq
    if (this.cursor < seq) this.cursor = seq
    // Without a current handle the server learns of it when the re-created durable delivers these again.
    if (handle === undefined || handle.seq <= this.serverFloor) return
    if (await handle.ackAck()) this.serverFloor = Math.max(this.serverFloor, handle.seq)
  }

  rewind(seq: StreamSeq): void {
    this.cursor = Math.max(seq, this.ackFloor)
  }

  close(): void {
    this.closed = true
    this.stopFetch()
    clearTimeout(this.retryTimer)
    for (const w of [...this.waiters]) w()
  }

  private pump(): void {
    if (this.run || this.rebinding || this.retryTimer || this.closed) return
    const run: FetchRun = {}
    this.run = run
    void this.fetchInto(run)
  }

  private stopFetch(): void {
    const run = this.run
    this.run = undefined
    run?.iter?.stop()
  }

  private async fetchInto(run: FetchRun): Promise<void> {
    let failure: unknown
    try {
      this.handle ??= await this.b.js.consumers.get(this.b.stream, this.b.consumerName)
      if (this.run !== run) return
      run.iter = await this.handle.fetch({
        max_messages: this.b.fetchBatch,
        expires: this.b.fetchExpiresMs,
      })
      if (this.run !== run) {
        run.iter.stop()
        return
      }
      for await (const m of run.iter) {
        if (this.run !== run) break
        this.receive(m)
      }
    } catch (e) {
      failure = e
    }
    if (this.run !== run) return
    this.run = undefined
    if (failure === undefined) {
      this.failures = 0
      if (this.waiters.size > 0) this.pump()
      return
    }
    // The durable may be gone (deleted, server state lost): look it up again before the next request.
    this.handle = undefined
    if (isApiError(failure, JetStreamApiCodes.ConsumerNotFound) || isConsumerDeleted(failure)) {
      void this.rebind()
      return
    }
    this.failures++
    this.b.onError(failure, `fetch shard ${this.shard}`)
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined
        if (this.waiters.size > 0) this.pump()
      },
      Math.min(5000, 50 * 2 ** this.failures),
    )
  }

  private receive(m: JsMsg): void {
    const dseq = m.info.deliverySequence
    if (dseq !== this.lastDelivery + 1) {
      // A delivery went missing (lost in flight, a reconnect): what follows would be out of order.
      void this.rebind()
      return
    }
    this.lastDelivery = dseq
    const seq = m.seq
    if (seq <= this.ackFloor) {
      if (seq > this.serverFloor) this.lateAck = m
      this.wakeSoon()
      return
    }
    if (seq <= this.highest) {
      const i = indexOfSeq(this.entries, seq)
      if (i >= 0) {
        this.entries[i]!.msg = m
        this.entries[i]!.epoch = this.epoch
      }
      return
    }
    this.entries.push({ seq, data: m.data, msg: m, epoch: this.epoch })
    this.highest = seq
    this.wakeSoon()
  }

  /** Waiters wake once per burst of deliveries, so one pull returns what a socket read brought. */
  private wakeSoon(): void {
    if (this.wakeScheduled) return
    this.wakeScheduled = true
    setImmediate(() => {
      this.wakeScheduled = false
      const late = this.lateAck
      this.lateAck = undefined
      if (late !== undefined && late.seq > this.serverFloor) {
        this.serverFloor = late.seq
        late.ack()
      }
      for (const w of [...this.waiters]) w()
    })
  }

  /** Re-creates the durable after the host's acknowledged floor; what is buffered comes again, deduplicated. */
  private rebind(): Promise<void> {
    if (this.rebinding || this.closed) return this.rebinding ?? Promise.resolve()
    this.stopFetch()
    this.rebinding = (async () => {
      for (let attempt = 1; !this.closed && !this.b.closed(); attempt++) {
        const floor = this.ackFloor
        try {
          await this.b.bind(floor)
          this.epoch++
          this.handle = undefined
          this.lastDelivery = 0
          this.serverFloor = floor
          return
        } catch (e) {
          this.b.onError(e, `re-create consumer of shard ${this.shard}`)
          await new Promise((r) => setTimeout(r, Math.min(5000, 50 * 2 ** attempt)))
        }
      }
    })().finally(() => {
      this.rebinding = undefined
      if (this.waiters.size > 0) this.pump()
    })
    return this.rebinding
  }
}

export function isApiError(e: unknown, code: number): boolean {
  return e instanceof JetStreamApiError && e.code === code
}

function isConsumerDeleted(e: unknown): boolean {
  return e instanceof Error && /consumer (deleted|not found)/i.test(e.message)
}

/** Index of the first entry whose seq is above `seq` (entries are sorted by seq). */
function firstAfter(entries: readonly Entry[], seq: number): number {
  let lo = 0
  let hi = entries.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (entries[mid]!.seq <= seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

function indexOfSeq(entries: readonly Entry[], seq: number): number {
  const i = firstAfter(entries, seq) - 1
  return i >= 0 && entries[i]!.seq === seq ? i : -1
}
