import { Packr } from 'msgpackr'
import type { Envelope } from './actor.ts'

const packr = new Packr({ useRecords: true })

/** The payload of one stream message: envelopes for actors of one shard, applied in order. */
export function encodeEnvelopes(envelopes: readonly Envelope[]): Uint8Array {
  return packr.pack(envelopes)
}

export function decodeEnvelopes(payload: Uint8Array): Envelope[] {
  return packr.unpack(payload) as Envelope[]
}
