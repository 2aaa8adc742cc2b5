import type { RuntimeHost, RuntimeMetrics } from '@hm/runtime'
import type { Metric, Registry } from 'prom-client'

type Value = { value: number; labels: Record<string, string | number>; metricName?: string }

/**
 * The actor runtime's metrics on the process registry: per actor type, activations, passivations,
 * active actors, turns, dead letters and the handler-time histogram; mailbox depth and replays.
 * One scrape asks the workers once (over the control plane); every metric reads that answer.
 */
export function registerRuntimeMetrics(registry: Registry, runtime: RuntimeHost): void {
  let cached: { at: number; metrics: Promise<RuntimeMetrics> } | undefined
  const read = (): Promise<RuntimeMetrics> => {
    if (cached === undefined || Date.now() - cached.at > 500)
      cached = { at: Date.now(), metrics: runtime.metrics() }
    return cached.metrics
  }
  const metric = (
    name: string,
    help: string,
    type: 'counter' | 'gauge' | 'histogram',
    values: (m: RuntimeMetrics) => Value[],
  ): void => {
    const m = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: async () => ({ name, help, type, aggregator: 'sum', values: values(await read()) }),
      reset: () => {},
    }
    registry.registerMetric(m as unknown as Metric)
  }
  const perType = (pick: (t: RuntimeMetrics['byType'][string]) => number) => (m: RuntimeMetrics) =>
    Object.entries(m.byType).map(([type, t]) => ({ value: pick(t), labels: { type } }))

  metric(
    'hm_runtime_activations_total',
    'Actor activations, by actor type',
    'counter',
    perType((t) => t.activations),
  )
  metric(
    'hm_runtime_passivations_total',
    'Actor passivations, by actor type',
    'counter',
    perType((t) => t.passivations),
  )
  metric(
    'hm_runtime_active_actors',
    'Active actors, by actor type',
    'gauge',
    perType((t) => t.active),
  )
  metric(
    'hm_runtime_turns_total',
    'Messages handled, by actor type',
    'counter',
    perType((t) => t.turns),
  )
  metric(
    'hm_runtime_dead_letters_total',
    'Messages whose handler threw, by actor type',
    'counter',
    perType((t) => t.deadLetters),
  )
  metric(
    'hm_runtime_mailbox_depth',
    'Messages pulled from the transport and not yet handled',
    'gauge',
    (m) => [{ value: m.mailboxDepth, labels: {} }],
  )
  metric(
    'hm_runtime_replays_total',
    'Shard replays after a failed handler or a lost worker',
    'counter',
    (m) => [{ value: m.replays, labels: {} }],
  )
  metric('hm_runtime_unwritten_batches', 'Flush batches waiting for the store', 'gauge', (m) => [
    { value: m.unwrittenBatches, labels: {} },
  ])
  metric(
    'hm_runtime_handler_seconds',
    'Handler time per message, by actor type (one turn in eight is timed)',
    'histogram',
    (m) =>
      Object.entries(m.byType).flatMap(([type, t]) => {
        let cumulative = 0
        const buckets = t.handler.buckets.map((n, i): Value => {
          cumulative += n
          const le = i < m.handlerBuckets.length ? String(m.handlerBuckets[i]) : '+Inf'
          return { metricName: 'hm_runtime_handler_seconds_bucket', value: cumulative, labels: { le, type } }
        })
        return [
          ...buckets,
          { metricName: 'hm_runtime_handler_seconds_sum', value: t.handler.sumSeconds, labels: { type } },
          { metricName: 'hm_runtime_handler_seconds_count', value: t.handler.count, labels: { type } },
        ]
      }),
  )
}
