import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type AcceptedEvent,
  decodePageMessage,
  decodeSessionMessage,
  encodePageMessage,
  encodeSessionMessage,
  type PageMessage,
  type SessionMessage,
} from '../src/index.ts'
import { int, text, wireEventArb } from './helpers/arbitraries.ts'

/** Any wire event, with the URL and page the gateway adds (pages of any text, often the same). */
const eventArb: fc.Arbitrary<AcceptedEvent> = fc
  .tuple(
    wireEventArb(int(0, 8_640_000_000_000)),
    fc.webUrl(),
    fc.oneof(fc.constantFrom('/', '/a', '/a/b'), text(60)),
  )
  .map(([e, url, page]) => ({ ...e, url, page }) as AcceptedEvent)

const header = fc.option(fc.oneof(fc.constantFrom('desktop', 'DE', 'Chrome'), text(30)), { nil: undefined })

/** An object without its `undefined` fields, as a decoder leaves an absent field out. */
const defined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T

describe('page and session message layout', () => {
  test('a page message decodes to what was encoded, less each event’s url and page', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), header, header, (events, device, country) => {
        const m = defined({ events, device: device || undefined, country: country || undefined })
        const back = decodePageMessage(encodePageMessage(m as PageMessage))
        assert.deepStrictEqual(back, {
          ...m,
          events: events.map(({ url: _url, page: _page, ...e }) => e),
        })
      }),
      { numRuns: 300 },
    )
  })

  test('a session message decodes to what was encoded, less each event’s url', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 60 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
        fc.tuple(header, header, header, header),
        (events, visitorId, [device, browser, os, country]) => {
          const m = defined({
            visitorId,
            device: device || undefined,
            browser: browser || undefined,
            os: os || undefined,
            country: country || undefined,
            events,
          })
          const back = decodeSessionMessage(encodeSessionMessage(m as unknown as SessionMessage))
          assert.deepStrictEqual(back, { ...m, events: events.map(({ url: _url, ...e }) => e) })
        },
      ),
      { numRuns: 300 },
    )
  })

  test('cut short, or of the other kind, a message is refused with a RangeError, never misread', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 10 }), fc.nat(), (events, cut) => {
        const bytes = encodeSessionMessage({ visitorId: 'v', events })
        const short = bytes.subarray(0, cut % bytes.length)
        assert.throws(() => decodeSessionMessage(short), RangeError)
        assert.throws(() => decodePageMessage(bytes), RangeError)
      }),
      { numRuns: 200 },
    )
  })

  test('a string too long for the layout is refused when encoding, not written cut', () => {
    const page = `/${'a'.repeat(800_000)}`
    assert.throws(
      () =>
        encodeSessionMessage({
          visitorId: 'v',
          events: [{ type: 'scroll', ts: 1, vw: 1, vh: 1, dw: 1, dh: 1, depth: 1, page }],
        }),
      RangeError,
    )
  })
})
