/**
 * Waits for every promise to settle, then rejects with the first rejection in their order, if any: a
 * caller that retries after a failure never overlaps work still running from the failed attempt.
 */
export async function allSettledOrThrow(promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  for (const r of await Promise.allSettled(promises)) if (r.status === 'rejected') throw r.reason
}
