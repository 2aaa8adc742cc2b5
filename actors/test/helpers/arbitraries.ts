import fc from 'fast-check'
import type { WireEvent } from '../../src/index.ts'

export const int = (min: number, max: number): fc.Arbitrary<number> => fc.integer({ min, max })
/** Any text, every code point included. */
export const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })
const px = int(0, 1_000_000)

/**
 * Every event type of the wire schema within its bounds, less the URL (which each suite builds its own
 * way), each optional field present or not — present but empty too. `ts` is the suite's choice of time.
 */
export function wireEventArb(ts: fc.Arbitrary<number>): fc.Arbitrary<Omit<WireEvent, 'url'>> {
  const common = {
    ts,
    vw: int(1, 20_000),
    vh: int(1, 20_000),
    dw: int(1, 100_000),
    dh: int(1, 1_000_000),
  }
  const required = ['type', 'ts', 'vw', 'vh', 'dw', 'dh'] as const
  return fc.oneof(
    fc.record(
      { type: fc.constant('pageview' as const), ...common, referrer: fc.oneof(fc.webUrl(), text(300)) },
      { requiredKeys: [...required] },
    ),
    fc.record(
      {
        type: fc.constant('click' as const),
        ...common,
        x: px,
        y: px,
        selector: text(200),
        ox: fc.double({ min: 0, max: 1, noNaN: true }),
        oy: fc.double({ min: 0, max: 1, noNaN: true }),
      },
      { requiredKeys: [...required, 'x', 'y'] },
    ),
    fc.record({ type: fc.constant('move' as const), ...common, x: px, y: px, rest: int(0, 3_600_000) }),
    fc.record({ type: fc.constant('scroll' as const), ...common, depth: px }),
    fc.record(
      {
        type: fc.constant('rage' as const),
        ...common,
        x: px,
        y: px,
        selector: text(100),
        count: int(3, 1000),
      },
      { requiredKeys: [...required, 'x', 'y', 'count'] },
    ),
    fc.record(
      { type: fc.constant('dead' as const), ...common, x: px, y: px, selector: text(100) },
      { requiredKeys: [...required, 'x', 'y'] },
    ),
    fc.record({
      type: fc.constant('attention' as const),
      ...common,
      band0: int(0, 62_500),
      ms: fc.array(int(0, 3_600_000), { minLength: 1, maxLength: 40 }),
    }),
  ) as fc.Arbitrary<Omit<WireEvent, 'url'>>
}
