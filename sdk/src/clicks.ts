/** A burst of clicks in one place: this many within `RAGE_MS` and `RAGE_PX` of the first. */
export const RAGE_CLICKS = 3
export const RAGE_MS = 1000
export const RAGE_PX = 30
/** A click with no navigation, DOM change or scroll this long after it is dead. */
export const DEAD_MS = 1000

interface Spot {
  x: number
  y: number
  t: number
}

/**
 * Rage clicks: 3 or more clicks within 1 s of each other and 30 px of the first become one burst,
 * reported once it is over (1 s without another click there) with the number of clicks in it.
 */
export function rageClicks(emit: (first: Spot, count: number, selector: string | undefined) => void) {
  let recent: Spot[] = []
  let burst: { first: Spot; last: number; n: number; sel: string | undefined } | null = null
  let timer: ReturnType<typeof setTimeout> | undefined
  const near = (a: Spot, x: number, y: number) => Math.hypot(a.x - x, a.y - y) <= RAGE_PX

  function end(): void {
    clearTimeout(timer)
    const b = burst
    burst = null
    if (b) emit(b.first, Math.min(1000, b.n), b.sel)
  }

  function click(x: number, y: number, t: number, sel: string | undefined): void {
    if (burst && t - burst.last < RAGE_MS && near(burst.first, x, y)) {
      burst.n++
      burst.last = t
    } else {
      end()
      recent = recent.filter((c) => t - c.t < RAGE_MS)
      const close = recent.filter((c) => near(c, x, y))
      recent.push({ x, y, t })
      if (close.length + 1 < RAGE_CLICKS) return
      burst = { first: close[0]!, last: t, n: close.length + 1, sel }
      recent = []
    }
    clearTimeout(timer)
    timer = setTimeout(end, RAGE_MS)
  }

  return { click, end }
}

/**
 * Dead clicks: a click after which, for `DEAD_MS`, the page neither navigated, nor changed its DOM
 * (MutationObserver), nor scrolled. The observer runs only while a click is waiting for its verdict.
 */
export function deadClicks(visible: () => boolean) {
  let changed = 0
  let waiting = 0
  let generation = 0
  const observer =
    typeof MutationObserver !== 'undefined' ? new MutationObserver(() => (changed = Date.now())) : undefined

  return {
    /** Something happened (navigation, scroll): clicks before now were not dead. */
    change(): void {
      changed = Date.now()
    },
    /** The page is going away: no verdict for the clicks waiting. */
    cancel(): void {
      generation++
    },
    click(t: number, fire: () => void): void {
      if (!observer) return
      if (waiting++ === 0) {
        observer.observe(document.documentElement, {
          subtree: true,
          childList: true,
          attributes: true,
          characterData: true,
        })
      }
      const g = generation
      setTimeout(() => {
        // Records not yet delivered would still say "changed".
        if (observer.takeRecords().length > 0) changed = Date.now()
        if (--waiting === 0) observer.disconnect()
        if (g === generation && changed < t && visible()) fire()
      }, DEAD_MS)
    },
  }
}
