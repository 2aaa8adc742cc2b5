import { Packr } from 'msgpackr'

/**
 * Turns what a shard's actors drained at one flush (`{ [actorType]: records }`) into the bytes its
 * `FlushBatch` carries. It runs in the worker thread, so whatever a sink would otherwise do per record on
 * the main thread (encode rows for its store) can be done here; the host keeps and hands on the bytes
 * without reading them. `shared` holds the values the host shares with its workers (`RuntimeHost.share`).
 */
export type DrainEncoder = (
  drained: Readonly<Record<string, unknown[]>>,
  shared: ReadonlyMap<string, unknown>,
) => Uint8Array

const packr = new Packr({ useRecords: false })

/** The default drain encoder: msgpack of `{ [actorType]: records }`. */
export const encodeDrained: DrainEncoder = (drained) =>
  // msgpackr packs into a shared buffer that its next call overwrites: the batch keeps a copy.
  new Uint8Array(packr.pack(drained))

/** Reads what the default encoder wrote (nothing drained: empty bytes, an empty record). */
export function decodeDrained(bytes: Uint8Array): Record<string, unknown[]> {
  return bytes.byteLength === 0 ? {} : (packr.unpack(bytes) as Record<string, unknown[]>)
}
