import type { IngestBatch, WireEvent } from '@hm/actors'
import { randomId } from './store.ts'

/** Events per request: keeps each body well below the 64 KiB keepalive/beacon budget. */
const BATCH_MAX = 50
const QUEUE_MAX = 1000
const MAX_TRIES = 5

interface Outgoing {
  batchId: string
  sid: string
  events: WireEvent[]
  tries: number
  busy: boolean
}

export interface DeliveryOptions {
  endpoint: string
  siteKey: string
  visitorId: () => string
}

export interface DeliveryStats {
  queued: number
  sent: number
  dropped: number
  failed: number
}

/**
 * Batching and delivery: events queue per session; a flush cuts them into batches of at most 50, each
 * with an id of its own that every retry keeps (the gateway counts a batch id once). Failed sends retry
 * with exponential backoff (honouring Retry-After), up to 5 tries; a page being left hands what is queued
 * to `sendBeacon`. The queue is bounded: over 1000 events the oldest go first, counted as dropped.
 */
export function delivery(o: DeliveryOptions) {
  let queue: Array<{ ev: WireEvent; sid: string }> = []
  let outbox: Outgoing[] = []
  /** Nothing leaves while held (consent granted on the page, not yet recorded by the gateway). */
  let held = false
  const stats = { sent: 0, dropped: 0, failed: 0 }
  const holding = () => queue.length + outbox.reduce((n, b) => n + b.events.length, 0)

  function push(ev: WireEvent, sid: string): number {
    queue.push({ ev, sid })
    let excess = holding() - QUEUE_MAX
    // The oldest goes first: a whole retrying batch (its id must keep its content), else single events.
    while (excess > 0) {
      const idle = outbox.findIndex((b) => !b.busy)
      let n = 1
      if (idle >= 0) n = outbox.splice(idle, 1)[0]!.events.length
      else queue.shift()
      stats.dropped += n
      excess -= n
    }
    return queue.length
  }

  function cut(): void {
    let current: Outgoing | undefined
    for (const q of queue) {
      if (!current || current.sid !== q.sid || current.events.length >= BATCH_MAX) {
        current = { batchId: randomId(), sid: q.sid, events: [], tries: 0, busy: false }
        outbox.push(current)
      }
      current.events.push(q.ev)
    }
    queue = []
  }

  function body(b: Outgoing): string {
    const batch: IngestBatch = {
      siteKey: o.siteKey,
      batchId: b.batchId,
      visitorId: o.visitorId(),
      sessionId: b.sid,
      events: b.events,
    }
    return JSON.stringify(batch)
  }

  function give(b: Outgoing, ok: boolean): void {
    b.busy = false
    if (!outbox.includes(b)) return
    outbox = outbox.filter((x) => x !== b)
    if (ok) stats.sent += b.events.length
    else {
      stats.failed++
      stats.dropped += b.events.length
    }
  }

  function send(b: Outgoing): void {
    b.busy = true
    b.tries++
    const retry = (after: number) => {
      b.busy = false
      if (b.tries >= MAX_TRIES) return give(b, false)
      const wait = Math.max(after, 1000 * 2 ** (b.tries - 1) * (0.75 + Math.random() / 2))
      setTimeout(() => {
        if (!b.busy && outbox.includes(b)) send(b)
      }, wait)
    }
    // text/plain keeps the request "simple": no CORS preflight from a customer's page to the gateway.
    fetch(o.endpoint, {
      method: 'POST',
      body: body(b),
      headers: { 'content-type': 'text/plain' },
      keepalive: true,
      credentials: 'omit',
    }).then(
      (res) => {
        if (res.ok) give(b, true)
        else if (res.status === 429 || res.status >= 500)
          retry(Number(res.headers.get('retry-after')) * 1000 || 0)
        // Another 4xx will fail the same way every time: count it, do not retry.
        else give(b, false)
      },
      () => retry(0),
    )
  }

  return {
    push,
    /** `leaving`: the page is being hidden or unloaded, so use sendBeacon, which survives the unload. */
    flush(leaving: boolean): void {
      if (held) return
      cut()
      const beacon = leaving && navigator.sendBeacon
      for (const b of outbox) {
        // On its way already; or waiting for its retry timer, which a page being left will not see fire.
        if (b.busy || (b.tries > 0 && !beacon)) continue
        if (beacon && navigator.sendBeacon(o.endpoint, new Blob([body(b)], { type: 'text/plain' })))
          give(b, true)
        else send(b)
      }
    },
    /** Holds everything queued (true) or lets it go with the next flush (false). */
    hold(value: boolean): void {
      held = value
    },
    /** Consent revoked: everything held is forgotten. */
    clear(): void {
      queue = []
      outbox = []
    },
    stats: (): DeliveryStats => ({ queued: holding(), ...stats }),
  }
}
