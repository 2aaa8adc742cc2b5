import type { StepTimings } from './step-timings.ts'

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
 * const p = new Pipeline([{ name: 'parse', run: (c) => { c.value = JSON.parse(c.raw) } }], timings)
 * await p.run(ctx)
 */
export class Pipeline<C extends Haltable> {
  private readonly steps: ReadonlyArray<{ step: Step<C>; slot: number }>

  constructor(
    steps: ReadonlyArray<Step<C>>,
    private readonly timings: StepTimings,
  ) {
    const names = new Set<string>()
    this.steps = steps.map((step) => {
      if (names.has(step.name)) throw new Error(`pipeline: two steps are named ${step.name}`)
      names.add(step.name)
      return { step, slot: timings.slot(step.name) }
    })
  }

  /** The step names, in order. */
  get names(): string[] {
    return this.steps.map((s) => s.step.name)
  }

  async run(ctx: C): Promise<void> {
    for (const { step, slot } of this.steps) {
      if (ctx.halted) return
      const start = performance.now()
      try {
        const pending = step.run(ctx)
        if (pending !== undefined) await pending
      } finally {
        this.timings.observe(slot, (performance.now() - start) / 1000)
      }
    }
  }
}
