import {
  type AcceptedEvent,
  AttentionEvent,
  ClickEvent,
  DeadEvent,
  type IngestBatch,
  IngestBatch as IngestBatchSchema,
  MoveEvent,
  normalizePage,
  PageviewEvent,
  RageEvent,
  routeBatch,
  ScrollEvent,
} from '@hm/actors'
import { RuntimeError, type Transport } from '@hm/runtime'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import type pg from 'pg'
import { siteByKey } from '../accounts/websites.ts'
import { GatewayError } from '../errors.ts'
import type { Cache } from '../stores/cache.ts'

export interface IngestOptions {
  transport: Transport
  pool: pg.Pool
  cache: Cache
  shardCount: number
  now?: () => number
}

const checkBatch = TypeCompiler.Compile(IngestBatchSchema)
const checkEvent = {
  pageview: TypeCompiler.Compile(PageviewEvent),
  click: TypeCompiler.Compile(ClickEvent),
  move: TypeCompiler.Compile(MoveEvent),
  scroll: TypeCompiler.Compile(ScrollEvent),
  rage: TypeCompiler.Compile(RageEvent),
  dead: TypeCompiler.Compile(DeadEvent),
  attention: TypeCompiler.Compile(AttentionEvent),
}
const dotted = (path: string): string => path.replace(/^\//, '').replaceAll('/', '.')

/** The first problem of an invalid batch, naming its field (inside an event, by the event's own type). */
function describeInvalid(value: unknown): string {
  const first = checkBatch.Errors(value).First()
  if (first === undefined) return 'body: invalid'
  const m = /^\/events\/(\d+)$/.exec(first.path)
  if (m !== null) {
    const event = (value as { events: unknown[] }).events[Number(m[1])]
    const type = (event as { type?: unknown } | null)?.type
    const checker = typeof type === 'string' ? checkEvent[type as keyof typeof checkEvent] : undefined
    if (checker === undefined) {
      return `events.${m[1]}.type: must be one of ${Object.keys(checkEvent).join(', ')}`
    }
    const inner = checker.Errors(event).First()
    if (inner !== undefined) return `events.${m[1]}${inner.path.replaceAll('/', '.')}: ${inner.message}`
  }
  return `${dotted(first.path) || 'body'}: ${first.message}`
}
/** Events stamped further ahead than this by the browser's clock are stamped with the gateway's. */
const MAX_CLOCK_AHEAD_MS = 60_000

function parseBody(body: unknown): IngestBatch {
  let value = body
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body)
    } catch (e) {
      throw new GatewayError('HM_ERR_INGEST_BAD_JSON', (e as Error).message)
    }
  }
  if (!checkBatch.Check(value)) throw new GatewayError('HM_ERR_INGEST_BAD_BATCH', describeInvalid(value))
  return value
}

function accept(batch: IngestBatch, now: number): AcceptedEvent[] {
  return batch.events.map((e) => ({
    ...e,
    ts: e.ts > now + MAX_CLOCK_AHEAD_MS ? now : e.ts,
    page: normalizePage(e.url),
  }))
}

/**
 * `POST /v1/events/collect`: validate → site key → origin → attribute → route by shard → publish. Answers
 * 202 only once the transport has durably stored every part of the batch; a retried batch id is stored
 * once (the transport's duplicate window), so it is counted once.
 */
const ingest: FastifyPluginAsync<IngestOptions> = async (app, opts) => {
  const now = opts.now ?? Date.now
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => done(null, body))

  app.post('/v1/events/collect', async (req, reply) => {
    const batch = parseBody(req.body)
    const site = await siteByKey(opts.pool, opts.cache, batch.siteKey)
    if (site === undefined) throw new GatewayError('HM_ERR_INGEST_UNKNOWN_SITE', batch.siteKey)
    const origin = req.headers.origin
    if (origin !== undefined && site.allowedOrigins.length > 0 && !site.allowedOrigins.includes(origin)) {
      throw new GatewayError('HM_ERR_INGEST_ORIGIN_DENIED', origin)
    }
    const ctx = { siteId: site.id, visitorId: batch.visitorId, sessionId: batch.sessionId }
    const parts = routeBatch(ctx, accept(batch, now()), opts.shardCount)
    let duplicates = 0
    try {
      const acks = await Promise.all(
        parts.map((p) => opts.transport.publish(p.shard, p.data, `${site.id}:${batch.batchId}:${p.shard}`)),
      )
      duplicates = acks.filter((a) => a.duplicate).length
    } catch (e) {
      if (e instanceof RuntimeError && e.code === 'RT_ERR_TRANSPORT_FULL') {
        throw new GatewayError('HM_ERR_INGEST_BUSY', undefined, 1)
      }
      throw e
    }
    return reply.code(202).send({ accepted: batch.events.length, duplicate: duplicates === parts.length })
  })
}

export default fp(ingest, { name: 'ingest', encapsulate: true, fastify: '5.x' })
