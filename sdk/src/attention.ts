/** Height of an attention band in document px: the wire's `ATTENTION_BAND_PX`, the grid's row. */
export const BAND = 16
const MAX_BAND = 1_000_000 / BAND
/** After this long without input the visitor is taken to be away: the time stops counting. */
const IDLE_MS = 30_000
/** Bands per attention event: the wire's `ms` holds at most 4096. */
const CHUNK = 4096

/**
 * Attention: milliseconds each 16 px band of the document spent inside the viewport while the page was
 * visible and the visitor not idle. Time is added at checkpoints (scroll, visibility change, input after
 * idleness, and `take`), to the bands the viewport covered since the previous one.
 */
export function attention(view: () => [top: number, bottom: number], visible: () => boolean) {
  let bands: Record<number, number> = {}
  let lo = MAX_BAND + 1
  let hi = -1
  /** When the clock last started; undefined while the page is hidden. */
  let since: number | undefined
  let active = 0
  let top = 0
  let bottom = 0

  function checkpoint(now: number): void {
    if (since !== undefined) {
      const ms = Math.min(now, active + IDLE_MS) - since
      if (ms > 0) {
        const a = Math.max(0, Math.floor(top / BAND))
        const b = Math.min(MAX_BAND, Math.ceil(bottom / BAND) - 1)
        for (let i = a; i <= b; i++) bands[i] = (bands[i] ?? 0) + ms
        if (a <= b) {
          lo = Math.min(lo, a)
          hi = Math.max(hi, b)
        }
      }
    }
    ;[top, bottom] = view()
    since = visible() ? now : undefined
  }

  return {
    checkpoint,
    /** Input from the visitor: after idleness, time counts again from now. */
    poke(now: number): void {
      if (now - active > IDLE_MS) checkpoint(now)
      active = now
    },
    /** The visible time gathered since the last take, as `{ band0, ms }` runs, and a fresh start. */
    take(now: number): Array<{ band0: number; ms: number[] }> {
      checkpoint(now)
      const out: Array<{ band0: number; ms: number[] }> = []
      for (let start = lo; start <= hi; start += CHUNK) {
        const ms: number[] = []
        for (let i = start; i <= Math.min(hi, start + CHUNK - 1); i++) {
          ms.push(Math.min(3_600_000, Math.round(bands[i] ?? 0)))
        }
        if (ms.some((m) => m > 0)) out.push({ band0: start, ms })
      }
      bands = {}
      lo = MAX_BAND + 1
      hi = -1
      return out
    },
  }
}
