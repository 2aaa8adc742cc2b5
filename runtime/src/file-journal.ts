import type { FileHandle } from 'node:fs/promises'
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { RuntimeError } from './errors.ts'
import { FRAME_HEAD, readFrame, sealFrame } from './frame.ts'
import type { ShardId, StreamSeq } from './ids.ts'
import {
  type ActorRef,
  type DeadLetterRecord,
  type FlushRecord,
  isPending,
  type ReminderRecord,
  type RuntimeChanges,
  type RuntimeStore,
  type SaveToken,
} from './store.ts'

export interface FileJournalOptions {
  /** Records go to one segment per span of this length (by commit time), as the journal table's hourly partitions. */
  segmentMs?: number
  /** A span's segment is closed and another started past this size. */
  segmentBytes?: number
}

/** Where a record lies: its header is kept in memory, its payload read back only when it is pending. */
interface Entry {
  id: string
  version: number
  at: number
  positions: Array<readonly [shard: number, upTo: number]>
  offset: number
  length: number
}

interface Segment {
  path: string
  /** The span its records were committed in (`at / segmentMs`, rounded down). */
  span: number
  entries: Entry[]
  size: number
}

// Record: a frame (`frame.ts`) whose body is f64 version | f64 at | u16 id bytes | id | u16 positions |
// positions × (u16 shard, f64 upTo) | payload
const FIXED = 8 + 8 + 2 + 2
const SUFFIX = '.journal'

/**
 * The runtime store with its journal of committed flushes in local files — what one node on its own disk
 * uses (the embedded default). A record is one append and one fdatasync: as atomic as the journal table's
 * one-row insert, without storing every drained row a second time in ClickHouse (as base64 in a String
 * column, parsed, compressed and merged) only to drop it within the hour. Snapshots, reminders, dead
 * letters and the applied positions stay in the store it wraps. A cluster keeps its journal in the shared
 * store: another node must be able to apply a dead node's records.
 *
 * Records the wrapped store's own journal still holds (written before this one was used) stay pending
 * there until applied, and are pruned and forgotten there.
 */
export class FileJournalStore implements RuntimeStore {
  private readonly segments: Segment[] = []
  private readonly ids = new Set<string>()
  private active: { fh: FileHandle; segment: Segment } | undefined
  /** Appends, rewrites and deletions, one at a time. */
  private queue: Promise<unknown> = Promise.resolve()

  private constructor(
    private readonly inner: RuntimeStore,
    private readonly dir: string,
    private readonly segmentMs: number,
    private readonly segmentBytes: number,
  ) {}

  /** Opens the journal in `dir` (created if missing), reading back what it holds. */
  static async open(
    inner: RuntimeStore,
    dir: string,
    options: FileJournalOptions = {},
  ): Promise<FileJournalStore> {
    const j = new FileJournalStore(
      inner,
      dir,
      options.segmentMs ?? 60 * 60_000,
      options.segmentBytes ?? 64 * 1024 * 1024,
    )
    await j.recover()
    return j
  }

  loadSnapshots(refs: readonly ActorRef[]): Promise<Map<string, Uint8Array>> {
    return this.inner.loadSnapshots(refs)
  }

  snapshotRefs(shards: readonly ShardId[]): AsyncIterable<ActorRef> {
    return this.inner.snapshotRefs(shards)
  }

  loadReminders(shards: readonly ShardId[]): Promise<ReminderRecord[]> {
    return this.inner.loadReminders(shards)
  }

  save(changes: RuntimeChanges, as?: SaveToken): Promise<void> {
    return this.inner.save(changes, as)
  }

  deadLetters(limit: number): Promise<DeadLetterRecord[]> {
    return this.inner.deadLetters(limit)
  }

  applied(record: FlushRecord): Promise<void> {
    return this.inner.applied(record)
  }

  positions(): Promise<Map<ShardId, StreamSeq>> {
    return this.inner.positions()
  }

  commit(record: FlushRecord): Promise<void> {
    return this.serial(async () => {
      // Stored once, however often it is committed.
      if (this.ids.has(record.id)) return
      const parts = encodeRecord(record)
      const length = parts[0].byteLength + parts[1].byteLength
      const { fh, segment } = await this.segmentFor(record)
      try {
        const { bytesWritten } = await fh.writev(parts, segment.size)
        if (bytesWritten !== length) throw new Error(`journal: wrote ${bytesWritten} of ${length} bytes`)
        await fh.datasync()
      } catch (e) {
        // Nothing half-written may stay: the segment is cut back (and were even that to fail, the next
        // append starts at the same offset, over it).
        await fh.truncate(segment.size).catch(() => undefined)
        throw e
      }
      segment.entries.push({
        id: record.id,
        version: record.version,
        at: record.at,
        positions: record.positions.map(([s, u]) => [s, u] as const),
        offset: segment.size,
        length,
      })
      segment.size += length
      this.ids.add(record.id)
    })
  }

  async pending(): Promise<FlushRecord[]> {
    const [older, applied] = await Promise.all([this.inner.pending(), this.inner.positions()])
    // Read between appends and rewrites, so every offset is where its record is.
    const mine = await this.serial(async () => {
      const out: FlushRecord[] = []
      for (const segment of this.segments) {
        const entries = segment.entries.filter((e) => isPending(e, applied))
        if (entries.length === 0) continue
        const bytes = await readFile(segment.path)
        for (const e of entries) {
          const got = decodeRecord(bytes, e.offset)
          if (got === undefined)
            throw new RuntimeError('RT_ERR_JOURNAL_CORRUPT', `${segment.path} @${e.offset}`)
          out.push(got.record)
        }
      }
      return out
    })
    return [...older, ...mine].sort((a, b) => a.version - b.version)
  }

  async prune(before: number): Promise<void> {
    await this.inner.prune(before)
    const applied = await this.inner.positions()
    await this.serial(async () => {
      for (const segment of [...this.segments]) {
        const last = segment.entries.reduce((m, e) => Math.max(m, e.at), 0)
        if (last >= before || segment.entries.some((e) => isPending(e, applied))) continue
        await this.drop(segment)
      }
    })
  }

  async forgetApplied(): Promise<number> {
    const older = await this.inner.forgetApplied()
    const applied = await this.inner.positions()
    const forgotten = await this.serial(async () => {
      let n = 0
      for (const segment of [...this.segments]) {
        const keep = segment.entries.filter((e) => isPending(e, applied))
        if (keep.length === segment.entries.length) continue
        n += segment.entries.length - keep.length
        if (keep.length === 0) await this.drop(segment)
        else await this.rewrite(segment, keep)
      }
      return n
    })
    return older + forgotten
  }

  /** Closes the active segment; the journal may be opened again on the same directory. */
  async close(): Promise<void> {
    await this.serial(() => this.closeActive())
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task)
    this.queue = run.catch(() => undefined)
    return run
  }

  /** The open segment of the record's span, opened or started if need be. */
  private async segmentFor(record: FlushRecord): Promise<{ fh: FileHandle; segment: Segment }> {
    const span = Math.floor(record.at / this.segmentMs)
    const segment = this.segments.findLast((s) => s.span === span && s.size < this.segmentBytes)
    if (segment !== undefined && this.active?.segment === segment) return this.active
    await this.closeActive()
    if (segment !== undefined) {
      this.active = { fh: await open(segment.path, 'r+'), segment }
      return this.active
    }
    // Named by span, then by the first record's version (unique and rising): names sort as segments began.
    const path = join(
      this.dir,
      `${String(span).padStart(10, '0')}-${String(record.version).padStart(20, '0')}${SUFFIX}`,
    )
    const fh = await open(path, 'wx')
    await syncDir(this.dir)
    const created: Segment = { path, span, entries: [], size: 0 }
    this.segments.push(created)
    this.active = { fh, segment: created }
    return this.active
  }

  private async closeActive(): Promise<void> {
    const a = this.active
    this.active = undefined
    await a?.fh.close()
  }

  private async drop(segment: Segment): Promise<void> {
    if (this.active?.segment === segment) await this.closeActive()
    await unlink(segment.path)
    this.segments.splice(this.segments.indexOf(segment), 1)
    for (const e of segment.entries) this.ids.delete(e.id)
  }

  /** Keeps only `keep` of a segment: written anew beside it, synced, then renamed over it. */
  private async rewrite(segment: Segment, keep: Entry[]): Promise<void> {
    if (this.active?.segment === segment) await this.closeActive()
    const bytes = await readFile(segment.path)
    const parts: Buffer[] = []
    const entries: Entry[] = []
    let size = 0
    for (const e of keep) {
      parts.push(bytes.subarray(e.offset, e.offset + e.length))
      entries.push({ ...e, offset: size })
      size += e.length
    }
    const tmp = `${segment.path}.tmp`
    await withFile(tmp, 'w', async (fh) => {
      await fh.writev(parts)
      await fh.datasync()
    })
    await rename(tmp, segment.path)
    await syncDir(this.dir)
    for (const e of segment.entries) if (!keep.includes(e)) this.ids.delete(e.id)
    segment.entries = entries
    segment.size = size
  }

  private async recover(): Promise<void> {
    await mkdir(this.dir, { recursive: true })
    const names = (await readdir(this.dir)).sort()
    for (const name of names) {
      // A rewrite that did not reach its rename: the segment it was made from is whole.
      if (name.endsWith(`${SUFFIX}.tmp`)) await unlink(join(this.dir, name))
    }
    const logs = names.filter((n) => n.endsWith(SUFFIX))
    // Appends go to one segment at a time (usually the newest span's): the one written last may end in a
    // torn append; in any other, a record that does not read back is damage. File times come from a coarse
    // clock (a few ms): segments appended within one of its ticks have the same time, and any of them may
    // be the one written last.
    const modified = await Promise.all(logs.map(async (n) => (await stat(join(this.dir, n))).mtimeMs))
    const latest = Math.max(...modified)
    for (const [i, name] of logs.entries()) {
      const path = join(this.dir, name)
      const bytes = await readFile(path)
      const segment: Segment = { path, span: Number(name.slice(0, name.indexOf('-'))), entries: [], size: 0 }
      let off = 0
      while (off < bytes.length) {
        const got = decodeRecord(bytes, off)
        if (got === undefined) {
          // A torn tail is an append that never reached fdatasync: no flush was told it was committed.
          if (modified[i] !== latest) throw new RuntimeError('RT_ERR_JOURNAL_CORRUPT', `${path} @${off}`)
          await withFile(path, 'r+', async (fh) => {
            await fh.truncate(off)
            await fh.datasync()
          })
          break
        }
        const { record } = got
        segment.entries.push({
          id: record.id,
          version: record.version,
          at: record.at,
          positions: [...record.positions],
          offset: off,
          length: got.next - off,
        })
        this.ids.add(record.id)
        off = got.next
      }
      segment.size = off
      this.segments.push(segment)
    }
  }
}

async function withFile(path: string, flags: string, use: (fh: FileHandle) => Promise<void>): Promise<void> {
  const fh = await open(path, flags)
  try {
    await use(fh)
  } finally {
    await fh.close()
  }
}

/** Makes a segment's creation, rename or removal durable. */
function syncDir(dir: string): Promise<void> {
  return withFile(dir, 'r', (fh) => fh.sync())
}

/** A record as its head and its payload, written together: the payload, most of it, is never copied. */
function encodeRecord(r: FlushRecord): [Buffer, Uint8Array] {
  const id = Buffer.from(r.id, 'utf8')
  const head = Buffer.allocUnsafe(FRAME_HEAD + FIXED + id.length + r.positions.length * 10)
  let o = FRAME_HEAD
  o = head.writeDoubleLE(r.version, o)
  o = head.writeDoubleLE(r.at, o)
  o = head.writeUInt16LE(id.length, o)
  o += id.copy(head, o)
  o = head.writeUInt16LE(r.positions.length, o)
  for (const [shard, upTo] of r.positions) {
    o = head.writeUInt16LE(shard, o)
    o = head.writeDoubleLE(upTo, o)
  }
  sealFrame(head, [head.subarray(FRAME_HEAD), r.payload])
  return [head, r.payload]
}

function decodeRecord(buf: Buffer, off: number): { record: FlushRecord; next: number } | undefined {
  const frame = readFrame(buf, off)
  if (frame === undefined || frame.body.length < FIXED) return undefined
  const rest = frame.body
  const version = rest.readDoubleLE(0)
  const at = rest.readDoubleLE(8)
  const idLen = rest.readUInt16LE(16)
  const id = rest.toString('utf8', 18, 18 + idLen)
  let o = 18 + idLen
  const count = rest.readUInt16LE(o)
  o += 2
  const positions: Array<readonly [number, number]> = []
  for (let i = 0; i < count; i++, o += 10) positions.push([rest.readUInt16LE(o), rest.readDoubleLE(o + 2)])
  // A copy: the caller keeps it while the segment's bytes go.
  return {
    record: { id, version, at, positions, payload: new Uint8Array(rest.subarray(o)) },
    next: frame.next,
  }
}
