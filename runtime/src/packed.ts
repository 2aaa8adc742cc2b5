/**
 * `items.map(f)`, as an array without holes. Once optimised, `Array.prototype.map` returns an array with
 * holes, which JSON.stringify and postMessage then walk element by element through V8's generic lookup
 * (more than twice the cost of a packed array): arrays that are serialised on hot paths are made here.
 */
export function packedMap<T, U>(items: readonly T[], f: (item: T, index: number) => U): U[] {
  const out: U[] = []
  for (let i = 0; i < items.length; i++) out.push(f(items[i]!, i))
  return out
}
