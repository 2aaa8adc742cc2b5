import type { Metric, Registry } from 'prom-client'

export interface StepTimingsOptions {
  name: string
  help: string
  /** Upper bounds of the buckets, in seconds, ascending; +Inf is added. */
  buckets: readonly number[]
  registers?: readonly Registry[]
}

type Value = { labels: Record<string, string | number>; value: number; metricName: string }

/**
 * A Prometheus histogram of seconds labelled by `step`, kept in typed arrays: a pipeline names its
 * steps once (`slot`) and then counts a timing with a few array writes. prom-client's Histogram hashes
 * the label set of every observation, and a request's sixteen steps made that a measurable share of
 * the ingest path. Scraped like any histogram of the registry (`_bucket{step,le}`, `_sum`, `_count`).
 */
export class StepTimings {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly name: string
  readonly help: string
  private readonly bounds: readonly number[]
  private readonly steps: string[] = []
  /** Per step: a count per bucket (not cumulative; the last is past every bound), then count and sum. */
  private counts = new Float64Array(0)

  constructor(options: StepTimingsOptions) {
    this.name = options.name
    this.help = options.help
    this.bounds = options.buckets
    for (const r of options.registers ?? []) r.registerMetric(this as unknown as Metric)
  }

  private get width(): number {
    return this.bounds.length + 3
  }

  /** The slot of `step`, to `observe` under; the same step always gets the same slot. */
  slot(step: string): number {
    const known = this.steps.indexOf(step)
    if (known >= 0) return known
    this.steps.push(step)
    const grown = new Float64Array(this.steps.length * this.width)
    grown.set(this.counts)
    this.counts = grown
    return this.steps.length - 1
  }

  observe(slot: number, seconds: number): void {
    const at = slot * this.width
    let b = 0
    while (b < this.bounds.length && seconds > this.bounds[b]!) b++
    this.counts[at + b]!++
    this.counts[at + this.bounds.length + 1]!++
    this.counts[at + this.bounds.length + 2]! += seconds
  }

  /** What the registry reads when scraped. */
  async get(): Promise<{
    name: string
    help: string
    type: 'histogram'
    aggregator: 'sum'
    values: Value[]
  }> {
    const values: Value[] = []
    const n = this.bounds.length
    this.steps.forEach((step, slot) => {
      const at = slot * this.width
      let cumulative = 0
      for (let b = 0; b <= n; b++) {
        cumulative += this.counts[at + b]!
        values.push({
          labels: { step, le: b < n ? this.bounds[b]! : '+Inf' },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        })
      }
      values.push({ labels: { step }, value: this.counts[at + n + 2]!, metricName: `${this.name}_sum` })
      values.push({ labels: { step }, value: this.counts[at + n + 1]!, metricName: `${this.name}_count` })
    })
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  /** Zeroes every count (the registry's `resetMetrics`); the steps keep their slots. */
  reset(): void {
    this.counts.fill(0)
  }
}
