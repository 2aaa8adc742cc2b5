import type { Histogram } from 'prom-client'

/** One named step of a pipeline: a function over the request's context. */
export interface Step<C> {
  readonly name: string
  /** Changes the context, or throws to answer the request with an error. */
  run(ctx: C): void | Promise<void>
}

/** What a pipeline needs of its context: a way for a step to say nothing is left to do. */
export interface Haltable {
  halted: boolean
}

/**
 * Runs named steps in order over one context, timing each in a histogram labelled by step. A step that
 * throws ends the run (its time is still recorded); a step that sets `halted` ends it quietly.
 *
 * @example
 * const p = new Pipeline([{ name: 'parse', run: (c) => { c.value = JSON.parse(c.raw) } }], histogram)
 * await p.run(ctx)
 */
export class Pipeline<C extends Haltable> {
  private readonly steps: ReadonlyArray<{ step: Step<C>; timer: () => () => void }>

  constructor(steps: ReadonlyArray<Step<C>>, histogram: Histogram<'step'>) {
    const names = new Set<string>()
    this.steps = steps.map((step) => {
      if (names.has(step.name)) throw new Error(`pipeline: two steps are named ${step.name}`)
      names.add(step.name)
      // Bound once: a labelled child times without hashing its labels on every request.
      const child = histogram.labels({ step: step.name })
      return { step, timer: () => child.startTimer() }
    })
  }

  /** The step names, in order. */
  get names(): string[] {
    return this.steps.map((s) => s.step.name)
  }

  async run(ctx: C): Promise<void> {
    for (const { step, timer } of this.steps) {
      if (ctx.halted) return
      const end = timer()
      try {
        const pending = step.run(ctx)
        if (pending !== undefined) await pending
      } finally {
        end()
      }
    }
  }
}
