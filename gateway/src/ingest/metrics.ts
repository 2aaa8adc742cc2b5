import { Counter, type Registry } from 'prom-client'
import { type DropReason, dropReasons } from './drops.ts'
import { StepTimings } from './step-timings.ts'

/** The ingestion metrics, registered on the platform's one registry. No label carries a site or an IP. */
export interface IngestMetrics {
  /** Seconds spent in each named pipeline step. */
  step: StepTimings
  /** Events dropped, by reason. */
  dropped: Counter<'reason'>
  /** Events accepted (stored by the transport, or already stored by an earlier copy of their batch). */
  accepted: Counter
  /** Batches whose every part the transport already held: a retry, counted once. */
  duplicates: Counter
  /** Ingest requests answered, by endpoint and HTTP status. */
  requests: Counter<'endpoint' | 'status'>
  /** Rate-limit checks that could not reach the cache; the request was let through. */
  rateLimitErrors: Counter
}

/** Step timings are tens of microseconds when all is well; the buckets resolve that and a slow store. */
const STEP_BUCKETS = [
  0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
  1,
]

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry]
  const dropped = new Counter({
    name: 'hm_ingest_dropped_total',
    help: 'Events dropped by the ingest pipeline, by reason',
    labelNames: ['reason'] as const,
    registers,
  })
  // Every reason shows from the start, at 0, so a dashboard can tell "none" from "not reported".
  for (const reason of dropReasons) dropped.labels(reason satisfies DropReason).inc(0)
  return {
    step: new StepTimings({
      name: 'hm_ingest_step_duration_seconds',
      help: 'Time spent in each step of the ingest pipeline',
      buckets: STEP_BUCKETS,
      registers,
    }),
    dropped,
    accepted: new Counter({
      name: 'hm_ingest_events_accepted_total',
      help: 'Events accepted by the ingest pipeline (durably handed to the transport)',
      registers,
    }),
    duplicates: new Counter({
      name: 'hm_ingest_duplicate_batches_total',
      help: 'Batches the transport already held (retries inside the duplicate window), counted once',
      registers,
    }),
    requests: new Counter({
      name: 'hm_ingest_requests_total',
      help: 'Ingest requests answered, by endpoint and HTTP status',
      labelNames: ['endpoint', 'status'] as const,
      registers,
    }),
    rateLimitErrors: new Counter({
      name: 'hm_ingest_rate_limit_errors_total',
      help: 'Rate-limit checks that failed to reach the cache (the request was let through)',
      registers,
    }),
  }
}
