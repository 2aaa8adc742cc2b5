import { Y_BAND_PX } from '../grid.ts'

export interface ScrollCurve {
  bandPx: number
  /** Page views measured, and the average fold (height of the first viewport) in px. */
  views: number
  avgFoldPx: number
  /** From the top, one per row: page views that saw any of it, and their share of all page views. */
  bands: Array<{ y: number; reached: number; share: number }>
}

/**
 * The scroll-depth curve from the summed `scroll_depth` rows `[band, starts, ends, views, fold_sum]`
 * (ascending band): page views reaching 16 px band y are `Σ starts(≤ y) − Σ ends(< y)`, and a coarser row
 * is reached by the views reaching its first band. Each page view is one chain of segments from band 0,
 * so the count can only fall from one band to the next: the curve never rises with depth.
 */
export function scrollCurve(
  rows: ReadonlyArray<readonly [number, number, number, number, number]>,
  bandPx = Y_BAND_PX,
): ScrollCurve {
  const step = bandPx / Y_BAND_PX
  let views = 0
  let foldSum = 0
  for (const r of rows) {
    views += r[3]
    foldSum += r[4]
  }
  const bands: ScrollCurve['bands'] = []
  const last = rows.at(-1)?.[0] ?? -1
  let i = 0
  let starts = 0
  let endsBefore = 0
  for (let y = 0; y <= last; y++) {
    let endsHere = 0
    if (i < rows.length && rows[i]![0] === y) {
      starts += rows[i]![1]
      endsHere = rows[i]![2]
      i++
    }
    if (y % step === 0) {
      const reached = starts - endsBefore
      bands.push({ y: y * Y_BAND_PX, reached, share: views > 0 ? reached / views : 0 })
    }
    endsBefore += endsHere
  }
  while (bands.length > 0 && bands.at(-1)!.reached <= 0) bands.pop()
  return { bandPx, views, avgFoldPx: views > 0 ? foldSum / views : 0, bands }
}
