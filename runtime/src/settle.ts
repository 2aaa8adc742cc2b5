/**
 * Runs `tasks`, at most `limit` at a time, waits for every one to settle, then rejects with the first
 * rejection in their order, if any: a caller that retries after a failure never overlaps work still
 * running from the failed attempt.
 */
export async function settleAll(tasks: ReadonlyArray<() => Promise<unknown>>, limit: number): Promise<void> {
  const failures: Array<{ reason: unknown } | undefined> = []
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++
      await tasks[i]!().catch((reason: unknown) => {
        failures[i] = { reason }
      })
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, lane))
  const first = failures.find((f) => f !== undefined)
  if (first !== undefined) throw first.reason
}
