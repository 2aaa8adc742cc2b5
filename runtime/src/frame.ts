import { crc32 } from 'node:zlib'

/**
 * The framing of the local logs (the embedded transport's and the flush journal's): u32 LE length of the
 * body | u32 LE crc32 of the body | body. A frame that does not read back whole is a torn append, or damage.
 */
export const FRAME_HEAD = 8

/** Writes the frame head of `body` into the first bytes of `head`; the body may come in parts. */
export function sealFrame(head: Buffer, body: readonly Uint8Array[]): void {
  let length = 0
  let crc = 0
  for (const part of body) {
    length += part.byteLength
    crc = crc32(part, crc)
  }
  head.writeUInt32LE(length, 0)
  head.writeUInt32LE(crc, 4)
}

/** The body of the frame at `off` and where the next one starts; undefined when it is cut short or damaged. */
export function readFrame(buf: Buffer, off: number): { body: Buffer; next: number } | undefined {
  if (off + FRAME_HEAD > buf.length) return undefined
  const next = off + FRAME_HEAD + buf.readUInt32LE(off)
  if (next > buf.length) return undefined
  const body = buf.subarray(off + FRAME_HEAD, next)
  return crc32(body) === buf.readUInt32LE(off + 4) ? { body, next } : undefined
}
