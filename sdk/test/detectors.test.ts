import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { attention } from '../src/attention.ts'
import { rageClicks } from '../src/clicks.ts'

describe('rage clicks: 3 within 1 s and 30 px', () => {
  function run(clicks: Array<[number, number, number]>): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = []
    const r = rageClicks((first, count) => out.push([first.x, first.y, count]))
    for (const [x, y, t] of clicks) r.click(x, y, t, undefined)
    r.end()
    return out
  }
  test('three close clicks inside a second are one burst of 3; more clicks grow it', () => {
    assert.deepEqual(
      run([
        [100, 100, 0],
        [110, 105, 300],
        [95, 120, 900],
      ]),
      [[100, 100, 3]],
    )
    assert.deepEqual(
      run([
        [100, 100, 0],
        [101, 100, 100],
        [102, 100, 200],
        [103, 100, 1100],
        [104, 100, 2000],
      ]),
      [[100, 100, 5]],
    )
  })
  test('not a burst: too slow, too far apart, or only two', () => {
    assert.deepEqual(
      run([
        [100, 100, 0],
        [100, 100, 500],
        [100, 100, 1000],
      ]),
      [],
    )
    assert.deepEqual(
      run([
        [100, 100, 0],
        [131, 100, 100],
        [100, 131, 200],
      ]),
      [],
    )
    assert.deepEqual(
      run([
        [100, 100, 0],
        [100, 100, 100],
      ]),
      [],
    )
  })
  test('a click elsewhere ends a burst; a new one can start there', () => {
    assert.deepEqual(
      run([
        [0, 0, 0],
        [0, 0, 10],
        [0, 0, 20],
        [500, 500, 30],
        [500, 500, 40],
        [500, 500, 50],
      ]),
      [
        [0, 0, 3],
        [500, 500, 3],
      ],
    )
  })
})

describe('attention: visible ms per 16 px band', () => {
  function setup() {
    let view: [number, number] = [0, 48]
    let shown = true
    const a = attention(
      () => view,
      () => shown,
    )
    return {
      a,
      scroll: (top: number, bottom: number) => (view = [top, bottom]),
      hide: (h: boolean) => (shown = !h),
    }
  }
  test('time goes to the bands in view, at their position since the last checkpoint', () => {
    const { a, scroll } = setup()
    a.poke(0)
    a.checkpoint(0)
    scroll(32, 80)
    a.checkpoint(1000) // bands 0..2 saw 1000 ms; now 2..4 are in view
    assert.deepEqual(a.take(1500), [{ band0: 0, ms: [1000, 1000, 1500, 500, 500] }])
    assert.deepEqual(a.take(1500), [])
  })
  test('hidden time and idle time do not count', () => {
    const { a, hide } = setup()
    a.poke(0)
    a.checkpoint(0)
    hide(true)
    a.checkpoint(1000)
    hide(false)
    a.checkpoint(61_000) // hidden for a minute: nothing
    assert.deepEqual(a.take(61_000), [{ band0: 0, ms: [1000, 1000, 1000] }])
    // No input for 2 minutes: only the first 30 s after the last input count.
    a.poke(61_000)
    assert.deepEqual(a.take(181_000), [{ band0: 0, ms: [30_000, 30_000, 30_000] }])
    a.poke(200_000)
    assert.deepEqual(a.take(201_000), [{ band0: 0, ms: [1000, 1000, 1000] }])
  })
  test('a tall view is sent in runs of at most 4096 bands', () => {
    const { a, scroll } = setup()
    scroll(0, 16 * 5000)
    a.poke(0)
    a.checkpoint(0)
    const runs = a.take(10)
    assert.deepEqual(
      runs.map((r) => [r.band0, r.ms.length]),
      [
        [0, 4096],
        [4096, 904],
      ],
    )
  })
})
