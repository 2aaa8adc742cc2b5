import type { FileHandle } from 'node:fs/promises'
import {
  constants,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises'
import { join } from 'node:path'
import { type Clock, systemClock } from './clock.ts'
import { RuntimeError } from './errors.ts'
import { FRAME_HEAD, readFrame, sealFrame } from './frame.ts'
import { type ShardId, type StreamSeq, streamSeq } from './ids.ts'
import type { Delivery, PublishAck, ShardConsumer, Transport } from './transport.ts'

export interface InProcessTransportOptions {
  /**
   * Directory of the write-ahead log. Without it, messages live in memory only: a publish is then not
   * durable, which only tests of other parts may want.
   */
  dir?: string
  /** How long a message id is remembered to drop retried publishes (JetStream's default: 2 min). */
  duplicateWindowMs?: number
  /** A log segment is closed and a new one started past this size. */
  segmentBytes?: number
  /** Cap on bytes held for unacknowledged messages; past it `publish` fails with RT_ERR_TRANSPORT_FULL. */
  maxPendingBytes?: number
  clock?: Clock
}

interface ResolvedOptions {
  dir: string | undefined
  duplicateWindowMs: number
  segmentBytes: number
  maxPendingBytes: number
  clock: Clock
}

interface ShardQueue {
  /** Unacknowledged messages in ascending seq. */
  items: Delivery[]
  ackFloor: number
  wake: Array<() => void>
  /** Signals of pulls on this queue that wake it when they abort. */
  watched: WeakSet<AbortSignal>
}

/** One consumer's place in its shard's queue. */
interface Reader {
  cursor: number
  closed: boolean
}

interface Segment {
  path: string
  lastTs: number
  /** Highest seq per shard stored in the segment: it may go once every shard has acknowledged past it. */
  maxSeqByShard: Map<number, number>
}

interface PendingWrite {
  msgId: string
  shard: number
  delivery: Delivery
  record: Buffer
  ts: number
  done: { resolve: () => void; reject: (e: unknown) => void }
}

/**
 * The message ids published within the duplicate window, with their seqs, oldest first. Every message of
 * the window is here (two minutes of them under load, all outliving the young generation): an id is a map
 * key and numbers in arrays, not an object and a promise of its own, which the garbage collector copied
 * and then marked at every major collection.
 */
class SeenIds {
  private readonly seqs = new Map<string, StreamSeq>()
  private ids: string[] = []
  private idSeqs: number[] = []
  private times: number[] = []
  private head = 0

  get(id: string): StreamSeq | undefined {
    return this.seqs.get(id)
  }

  add(id: string, seq: StreamSeq, ts: number): void {
    this.seqs.set(id, seq)
    this.ids.push(id)
    this.idSeqs.push(seq)
    this.times.push(ts)
  }

  delete(id: string): void {
    this.seqs.delete(id)
  }

  /** Forgets the ids published before `horizon` (ms); ids are added in time order. */
  forgetBefore(horizon: number): void {
    let head = this.head
    while (head < this.ids.length && this.times[head]! < horizon) {
      const id = this.ids[head]!
      // Deleted after a failed write and published again since: that later entry stays.
      if (this.seqs.get(id) === this.idSeqs[head]) this.seqs.delete(id)
      head++
    }
    if (head > 1024 && head * 2 > this.ids.length) {
      this.ids = this.ids.slice(head)
      this.idSeqs = this.idSeqs.slice(head)
      this.times = this.times.slice(head)
      head = 0
    }
    this.head = head
  }
}

// Record: a frame (`frame.ts`) whose body is f64 seq | f64 ts | u16 shard | u16 id bytes | id | payload
const FIXED = 8 + 8 + 2 + 2
const ACKS_FILE = 'acks.json'

/**
 * The embedded transport: one process, a write-ahead log on local disk with group commit (one synchronous
 * write per burst of publishes), per-shard queues in memory, acknowledgement floors persisted beside the log.
 * Sequences are global like a JetStream stream's, so positions recorded by flushes mean the same thing
 * on both transports.
 */
export class InProcessTransport implements Transport {
  private readonly options: ResolvedOptions
  private readonly shards = new Map<number, ShardQueue>()
  private readonly seen = new SeenIds()
  /** Ids whose write is under way: a retry waits for the same outcome. */
  private readonly durable = new Map<string, Promise<void>>()
  private readonly segments: Segment[] = []
  private active: { fh: FileHandle; segment: Segment; size: number } | undefined
  private writeQueue: PendingWrite[] = []
  private writing = false
  private lastSeq = 0
  private pendingBytes = 0
  private closed = false
  private acksDirty = false
  private acksWrite: Promise<void> = Promise.resolve()

  private constructor(options: ResolvedOptions) {
    this.options = options
  }

  /** Opens (and recovers) the log in `options.dir`, or an in-memory transport without one. */
  static async open(options: InProcessTransportOptions = {}): Promise<InProcessTransport> {
    const t = new InProcessTransport({
      dir: options.dir,
      duplicateWindowMs: options.duplicateWindowMs ?? 120_000,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      maxPendingBytes: options.maxPendingBytes ?? 256 * 1024 * 1024,
      clock: options.clock ?? systemClock,
    })
    if (t.options.dir !== undefined) await t.recover(t.options.dir)
    return t
  }

  /** Bytes held for messages not yet acknowledged. */
  get heldBytes(): number {
    return this.pendingBytes
  }

  publish(shard: ShardId, data: Uint8Array, msgId: string): Promise<PublishAck> {
    if (this.closed) return Promise.reject(new RuntimeError('RT_ERR_TRANSPORT_CLOSED'))
    const now = this.options.clock.now()
    this.seen.forgetBefore(now - this.options.duplicateWindowMs)
    const seen = this.seen.get(msgId)
    if (seen !== undefined) {
      const ack = { seq: seen, duplicate: true }
      return (this.durable.get(msgId) ?? Promise.resolve()).then(() => ack)
    }
    if (this.pendingBytes + data.byteLength > this.options.maxPendingBytes) {
      return Promise.reject(
        new RuntimeError('RT_ERR_TRANSPORT_FULL', `${this.pendingBytes} bytes unacknowledged`),
      )
    }
    const seq = streamSeq(++this.lastSeq)
    const delivery: Delivery = { seq, data }
    this.pendingBytes += data.byteLength
    let durable: Promise<void>
    if (this.options.dir === undefined) {
      this.makeVisible(shard, delivery)
      durable = Promise.resolve()
    } else {
      durable = new Promise<void>((resolve, reject) => {
        this.writeQueue.push({
          msgId,
          shard,
          delivery,
          record: encodeRecord(seq, now, shard, msgId, data),
          ts: now,
          done: { resolve, reject },
        })
      })
      this.durable.set(msgId, durable)
      void this.drainWrites()
    }
    this.seen.add(msgId, seq, now)
    return durable.then(() => ({ seq, duplicate: false }))
  }

  async consumer(shard: ShardId): Promise<ShardConsumer> {
    const q = this.queue(shard)
    const reader: Reader = { cursor: q.ackFloor, closed: false }
    return {
      pull: (max, signal) => this.pull(q, reader, max, signal),
      ack: (seq) => this.ack(shard, seq),
      rewind: (seq) => {
        reader.cursor = Math.max(seq, q.ackFloor)
      },
      close: () => {
        reader.closed = true
        wakeAll(q)
      },
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    while (this.writing || this.writeQueue.length > 0) await this.drainWrites()
    await this.persistAcks()
    for (const q of this.shards.values()) wakeAll(q)
    await this.active?.fh.close()
    this.active = undefined
  }

  private queue(shard: number): ShardQueue {
    let q = this.shards.get(shard)
    if (q === undefined) {
      q = { items: [], ackFloor: 0, wake: [], watched: new WeakSet() }
      this.shards.set(shard, q)
    }
    return q
  }

  private makeVisible(shard: number, d: Delivery): void {
    const q = this.queue(shard)
    q.items.push(d)
    wakeAll(q)
  }

  private async pull(q: ShardQueue, reader: Reader, max: number, signal?: AbortSignal): Promise<Delivery[]> {
    for (;;) {
      if (signal?.aborted || this.closed || reader.closed) return []
      const from = firstAfter(q.items, reader.cursor)
      if (from < q.items.length) {
        const out = q.items.slice(from, from + max)
        reader.cursor = out[out.length - 1]!.seq
        return out
      }
      // An abort wakes every pull waiting on the queue, and each looks at its own signal: one listener per
      // signal for the queue's life, not one added and removed for every wait.
      if (signal !== undefined && !q.watched.has(signal)) {
        q.watched.add(signal)
        signal.addEventListener('abort', () => wakeAll(q), { once: true })
      }
      await new Promise<void>((resolve) => q.wake.push(resolve))
    }
  }

  private async ack(shard: number, seq: StreamSeq): Promise<void> {
    const q = this.queue(shard)
    if (seq <= q.ackFloor) return
    q.ackFloor = seq
    const upto = firstAfter(q.items, seq)
    for (let i = 0; i < upto; i++) this.pendingBytes -= q.items[i]!.data.byteLength
    q.items.splice(0, upto)
    if (this.options.dir === undefined) return
    this.acksDirty = true
    await this.persistAcks()
    await this.dropAcknowledgedSegments()
  }

  /**
   * Group commit: everything queued while the previous write ran goes out in one `writev`. The segment is
   * opened with O_DSYNC, so that one call returns once the records are on disk: one round trip to the
   * thread pool per burst instead of a write and then an fdatasync.
   */
  private async drainWrites(): Promise<void> {
    if (this.writing) return
    this.writing = true
    try {
      while (this.writeQueue.length > 0) {
        const batch = this.writeQueue
        this.writeQueue = []
        try {
          const active = await this.activeSegment()
          const records = batch.map((w) => w.record)
          let bytes = 0
          for (const r of records) bytes += r.byteLength
          const { bytesWritten } = await active.fh.writev(records)
          if (bytesWritten !== bytes)
            throw new Error(`transport log: wrote ${bytesWritten} of ${bytes} bytes`)
          active.size += bytes
          for (const w of batch) {
            const m = active.segment.maxSeqByShard
            m.set(w.shard, Math.max(m.get(w.shard) ?? 0, w.delivery.seq))
            active.segment.lastTs = Math.max(active.segment.lastTs, w.ts)
          }
          for (const w of batch) {
            this.makeVisible(w.shard, w.delivery)
            this.durable.delete(w.msgId)
            w.done.resolve()
          }
        } catch (e) {
          for (const w of batch) {
            // Not kept, so a retry with the same id must be stored anew rather than answered as a duplicate.
            this.seen.delete(w.msgId)
            this.durable.delete(w.msgId)
            this.pendingBytes -= w.delivery.data.byteLength
            w.done.reject(e)
          }
        }
      }
    } finally {
      this.writing = false
    }
  }

  private async activeSegment(): Promise<{ fh: FileHandle; segment: Segment; size: number }> {
    const dir = this.options.dir!
    if (this.active !== undefined && this.active.size < this.options.segmentBytes) return this.active
    if (this.active !== undefined) await this.active.fh.close()
    const path = join(dir, `${String(this.lastSeq).padStart(16, '0')}.seg`)
    const fh = await open(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_DSYNC,
    )
    const segment: Segment = { path, lastTs: 0, maxSeqByShard: new Map() }
    this.segments.push(segment)
    this.active = { fh, segment, size: 0 }
    return this.active
  }

  private persistAcks(): Promise<void> {
    this.acksWrite = this.acksWrite.then(async () => {
      if (!this.acksDirty || this.options.dir === undefined) return
      this.acksDirty = false
      const floors: Record<string, number> = {}
      for (const [s, q] of this.shards) floors[s] = q.ackFloor
      const path = join(this.options.dir, ACKS_FILE)
      await writeFile(`${path}.tmp`, JSON.stringify({ lastSeq: this.lastSeq, floors }))
      await rename(`${path}.tmp`, path)
    })
    return this.acksWrite
  }

  private async dropAcknowledgedSegments(): Promise<void> {
    const horizon = this.options.clock.now() - this.options.duplicateWindowMs
    while (this.segments.length > 1 && this.segments[0] !== this.active?.segment) {
      const seg = this.segments[0]!
      if (seg.lastTs >= horizon) return
      for (const [shard, max] of seg.maxSeqByShard) if (this.queue(shard).ackFloor < max) return
      this.segments.shift()
      await unlink(seg.path)
    }
  }

  private async recover(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true })
    try {
      const acks = JSON.parse(await readFile(join(dir, ACKS_FILE), 'utf8')) as {
        lastSeq: number
        floors: Record<string, number>
      }
      this.lastSeq = acks.lastSeq
      for (const [s, floor] of Object.entries(acks.floors)) this.queue(Number(s)).ackFloor = floor
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    }
    const names = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort()
    const horizon = this.options.clock.now() - this.options.duplicateWindowMs
    for (const [i, name] of names.entries()) {
      const path = join(dir, name)
      const buf = await readFile(path)
      const segment: Segment = { path, lastTs: 0, maxSeqByShard: new Map() }
      let off = 0
      while (off < buf.length) {
        const rec = decodeRecord(buf, off)
        if (rec === undefined) {
          // A torn tail is a write that never reached fsync, so no publisher was told it was kept.
          if (i !== names.length - 1)
            throw new RuntimeError('RT_ERR_TRANSPORT_CORRUPT_LOG', `${path} @${off}`)
          await truncate(path, off)
          break
        }
        off = rec.next
        const m = segment.maxSeqByShard
        m.set(rec.shard, Math.max(m.get(rec.shard) ?? 0, rec.seq))
        segment.lastTs = Math.max(segment.lastTs, rec.ts)
        this.lastSeq = Math.max(this.lastSeq, rec.seq)
        const q = this.queue(rec.shard)
        if (rec.seq > q.ackFloor) {
          q.items.push({ seq: streamSeq(rec.seq), data: rec.data })
          this.pendingBytes += rec.data.byteLength
        }
        if (rec.ts >= horizon) {
          this.seen.add(rec.id, streamSeq(rec.seq), rec.ts)
        }
      }
      this.segments.push(segment)
    }
    for (const q of this.shards.values()) q.items.sort((a, b) => a.seq - b.seq)
  }
}

/** Index of the first delivery whose seq is above `seq` (items are sorted by seq). */
function firstAfter(items: readonly Delivery[], seq: number): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (items[mid]!.seq <= seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Wakes every pull waiting on the queue; each looks again for what it may take. */
function wakeAll(q: ShardQueue): void {
  for (const w of q.wake.splice(0)) w()
}

function encodeRecord(seq: number, ts: number, shard: number, id: string, data: Uint8Array): Buffer {
  const idBytes = Buffer.from(id, 'utf8')
  const buf = Buffer.allocUnsafe(FRAME_HEAD + FIXED + idBytes.length + data.byteLength)
  buf.writeDoubleLE(seq, FRAME_HEAD)
  buf.writeDoubleLE(ts, FRAME_HEAD + 8)
  buf.writeUInt16LE(shard, FRAME_HEAD + 16)
  buf.writeUInt16LE(idBytes.length, FRAME_HEAD + 18)
  idBytes.copy(buf, FRAME_HEAD + FIXED)
  buf.set(data, FRAME_HEAD + FIXED + idBytes.length)
  sealFrame(buf, [buf.subarray(FRAME_HEAD)])
  return buf
}

function decodeRecord(
  buf: Buffer,
  off: number,
): { seq: number; ts: number; shard: number; id: string; data: Uint8Array; next: number } | undefined {
  const frame = readFrame(buf, off)
  if (frame === undefined || frame.body.length < FIXED) return undefined
  const rest = frame.body
  const idLen = rest.readUInt16LE(18)
  return {
    seq: rest.readDoubleLE(0),
    ts: rest.readDoubleLE(8),
    shard: rest.readUInt16LE(16),
    id: rest.toString('utf8', FIXED, FIXED + idLen),
    data: new Uint8Array(rest.subarray(FIXED + idLen)),
    next: frame.next,
  }
}
