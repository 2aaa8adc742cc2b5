import { useLocation, useSearchParams } from '@solidjs/router'
import { createEffect, on } from 'solid-js'

/** A value of the address's query as one string: the first of a repeated key; an empty one is absent. */
export const one = (v: string | string[] | undefined): string | undefined =>
  (Array.isArray(v) ? v[0] : v) || undefined

/**
 * A view whose state lives in the address (so it can be bookmarked and shared): the query as read, and
 * a setter of some of its keys (undefined clears one).
 *
 * The router holds the address until the reads of the last change finish; a change made meanwhile (the
 * second date of a range) is merged with the ones still on their way rather than replacing them.
 */
export function useAddressState<P extends Record<string, string | undefined>>(): [
  Partial<P>,
  (change: Partial<P>) => void,
] {
  const [search, setSearch] = useSearchParams<P>()
  const location = useLocation()
  let pending: Partial<P> = {}
  createEffect(
    on(
      () => location.search,
      () => {
        pending = {}
      },
      { defer: true },
    ),
  )
  const set = (change: Partial<P>) => {
    pending = { ...pending, ...change }
    setSearch(pending)
  }
  return [search, set]
}
