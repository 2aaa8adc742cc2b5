import { packedMap } from '../packed.ts'
import type { ReminderRecord, SnapshotRecord } from '../store.ts'
import type { FlushResult } from './types.ts'

/**
 * Lays out what a flush hands the host in one buffer, so the result can be transferred rather than
 * cloned. msgpackr returns views into its shared output buffer; cloning a view copies the whole
 * buffer, which made result messages cost the host far more than their bytes.
 */
export class FlushBytes {
  private readonly parts: Uint8Array[] = []
  private size = 0

  /** Appends `bytes`; returns where they end. */
  add(bytes: Uint8Array): number {
    this.parts.push(bytes)
    this.size += bytes.byteLength
    return this.size
  }

  /** The appended bytes, end to end, in a buffer of their own. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.size)
    let at = 0
    for (const p of this.parts) {
      out.set(p, at)
      at += p.byteLength
    }
    return out
  }
}

/** The worker side: a flush's snapshots and reminders with their bytes moved into `bytes`. */
export function layOut(
  bytes: FlushBytes,
  snapshots: readonly SnapshotRecord[],
  reminders: readonly ReminderRecord[],
): Pick<FlushResult, 'snapshots' | 'reminders'> {
  return {
    snapshots: packedMap(snapshots, ({ data, ...s }) => ({
      ...s,
      end: data === null ? null : bytes.add(data),
    })),
    reminders: packedMap(reminders, ({ message, ...r }) => ({ ...r, end: bytes.add(message) })),
  }
}

/** The host side: the records back, their bytes as views into the result's buffer. */
export function readBack(r: FlushResult): { snapshots: SnapshotRecord[]; reminders: ReminderRecord[] } {
  let at = r.drainedEnd
  const next = (end: number): Uint8Array => {
    const view = r.bytes.subarray(at, end)
    at = end
    return view
  }
  return {
    snapshots: r.snapshots.map(({ end, ...s }) => ({ ...s, data: end === null ? null : next(end) })),
    reminders: r.reminders.map(({ end, ...rem }) => ({ ...rem, message: next(end) })),
  }
}
