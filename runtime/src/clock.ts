/** Time as the runtime sees it; injected so tests can drive a simulated clock. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
