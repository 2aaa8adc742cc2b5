/**
 * Child process of the RivetKit peer (bench/peers/rivetkit.ts): hosts the counter actors on RivetKit with the
 * engine it manages locally, drives them through its client and reports over IPC. It runs in a process of its own
 * because RivetKit spawns an engine daemon that keeps its store under $HOME, which the parent points at a
 * temporary directory and removes afterwards.
 */

/**
 * The part of RivetKit's API this peer uses. RivetKit is installed on demand (see `rivetkit.ts`: `npm ci`
 * cannot install it from our lock), so it is imported by name at run time and typed here.
 */
interface CounterHandle {
  add(values: number[]): Promise<number>
  get(): Promise<number>
}
interface Registry {
  parseConfig(): { enginePort: number }
  startAndWait(): Promise<void>
  shutdown(): Promise<void>
}
interface RivetkitModule {
  actor(definition: {
    state: { n: number }
    actions: {
      add: (c: { state: { n: number } }, values: number[]) => number
      get: (c: { state: { n: number } }) => number
    }
  }): unknown
  setup(config: Record<string, unknown>): Registry
}
interface RivetkitClientModule {
  createClient(options: { endpoint: string; disableMetadataLookup: boolean }): {
    counter: { getOrCreate(key: string[]): CounterHandle }
    dispose(): Promise<void>
  }
}

const RIVETKIT = 'rivetkit'
const { actor, setup } = (await import(RIVETKIT)) as RivetkitModule
const { createClient } = (await import(`${RIVETKIT}/client`)) as RivetkitClientModule

export interface RivetkitJob {
  /** Messages into the one hot actor, sent as actions carrying `batch` values each. */
  hotMessages: number
  /** Distinct actors, each receiving `perActor` messages; one value per action, as each stream message of the
   * 100k-actor workload holds one message per actor. */
  actors: number
  perActor: number
  batch: number
  inFlight: number
}

export interface RivetkitCase {
  messages: number
  perSecond: number
  /** Sum of the actors' counters read back after delivery: must equal `messages`. */
  counted: number
  calls: number
  /** Calls re-sent because the engine timed out resolving the actor's route (the call never reached it). */
  retried: number
}

/** A case that could not be measured says why (the phase and RivetKit's error). */
export type RivetkitOutcome = RivetkitCase | { error: string }

export type RivetkitReport =
  | { ok: true; hot: RivetkitOutcome; distinct: RivetkitOutcome }
  | { ok: false; error: string }

const counter = actor({
  state: { n: 0 },
  actions: {
    add: (c, values: number[]) => {
      for (const v of values) c.state.n += v
      return values.length
    },
    get: (c) => c.state.n,
  },
})

const registry = setup({
  use: { counter },
  noWelcome: true,
  startEngine: true,
  startServices: false,
  logging: { level: 'error' },
  shutdown: { disableSignalHandlers: true, gracePeriodMs: 5_000 },
})

const client = createClient({
  endpoint: `http://127.0.0.1:${registry.parseConfig().enginePort}`,
  disableMetadataLookup: true,
})

/** Creation here stalls at random for the engine's 15 s route timeout, at times several times in a row. */
const MAX_ATTEMPTS = 5

/** The engine answers this when the actor's route did not resolve in time: the call never reached the actor. */
const unrouted = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'route_resolve_query_timeout'

/** Runs `call`, re-sending it while the engine could not route it; returns how many times it re-sent. */
async function routed(call: () => Promise<unknown>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      await call()
      return attempt - 1
    } catch (e) {
      if (!unrouted(e) || attempt === MAX_ATTEMPTS) throw e
    }
  }
}

async function deliver(
  calls: Array<{ key: string; values: number[] }>,
  inFlight: number,
): Promise<{ ms: number; retried: number }> {
  let next = 0
  let retried = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: Math.min(inFlight, calls.length) }, async () => {
      while (next < calls.length) {
        const call = calls[next++]!
        const resent = await routed(() => client.counter.getOrCreate([call.key]).add(call.values))
        retried += resent
      }
    }),
  )
  return { ms: performance.now() - t0, retried }
}

async function count(keys: readonly string[], inFlight: number): Promise<number> {
  let next = 0
  let sum = 0
  await Promise.all(
    Array.from({ length: Math.min(inFlight, keys.length) }, async () => {
      while (next < keys.length) {
        // Read the counter before adding: `sum += await …` would add to a stale `sum` across workers.
        const key = keys[next++]!
        let n = 0
        await routed(async () => {
          n = await client.counter.getOrCreate([key]).get()
        })
        sum += n
      }
    }),
  )
  return sum
}

const describe = (e: unknown): string => {
  const err = e as { code?: unknown; message?: unknown }
  return `${err.code ? `${String(err.code)}: ` : ''}${String(err.message ?? e)}`
}

async function measure(
  keys: readonly string[],
  calls: Array<{ key: string; values: number[] }>,
  inFlight: number,
): Promise<RivetkitOutcome> {
  const messages = calls.reduce((n, c) => n + c.values.length, 0)
  let delivered: { ms: number; retried: number }
  try {
    delivered = await deliver(calls, inFlight)
  } catch (e) {
    return { error: `delivery failed: ${describe(e)}` }
  }
  try {
    const counted = await count(keys, inFlight)
    return {
      messages,
      perSecond: (messages / delivered.ms) * 1000,
      counted,
      calls: calls.length,
      retried: delivered.retried,
    }
  } catch (e) {
    return { error: `reading the counters back failed: ${describe(e)}` }
  }
}

async function run(job: RivetkitJob): Promise<RivetkitReport> {
  try {
    await registry.startAndWait()
  } catch (e) {
    return { ok: false, error: `start failed: ${describe(e)}` }
  }
  const hotCalls: Array<{ key: string; values: number[] }> = []
  for (let left = job.hotMessages; left > 0; left -= job.batch)
    hotCalls.push({ key: 'hot', values: new Array<number>(Math.min(job.batch, left)).fill(1) })
  const hot = await measure(['hot'], hotCalls, job.inFlight)

  const keys = Array.from({ length: job.actors }, (_, i) => `a${i}`)
  const distinctCalls: Array<{ key: string; values: number[] }> = []
  for (let round = 0; round < job.perActor; round++)
    for (const key of keys) distinctCalls.push({ key, values: [1] })
  const distinct = await measure(keys, distinctCalls, job.inFlight)
  return { ok: true, hot, distinct }
}

process.once('message', (job: RivetkitJob) => {
  void run(job)
    .catch((e: unknown): RivetkitReport => ({ ok: false, error: describe(e) }))
    .then((report) => {
      process.send!(report, async () => {
        await client.dispose().catch(() => {})
        await registry.shutdown().catch(() => {})
        process.exit(0)
      })
    })
})
