/**
 * Why an event that reached the gateway is not kept. Dropping is not an error — the client gets its
 * 202 — it is data: every drop is counted by reason in `hm_ingest_dropped_total{reason}`.
 */
export const dropReasons = [
  /** The request carried `DNT: 1` or `Sec-GPC: 1`: the visitor asked not to be tracked. */
  'do_not_track',
  /** The User-Agent is a crawler, a headless or automated browser, or a monitoring tool. */
  'bot_user_agent',
  /** A browser sent events at a rate no person produces (see `bots.ts`). */
  'bot_behaviour',
  /** The website requires consent and the visitor has not granted it (no record, or revoked). */
  'no_consent',
  /** The event's timestamp is older than the gateway keeps (30 days). */
  'stale',
] as const

export type DropReason = (typeof dropReasons)[number]
