/**
 * The ingest validator's fast check (`matchesWireSchema`) against the wire schema as TypeBox compiles it:
 * on anything `JSON.parse` can make of a batch, valid or broken in any one place, the two agree.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { IngestBatch } from '@hm/actors'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import fc from 'fast-check'
import { int, text, wireEventArb } from '../../../actors/test/helpers/arbitraries.ts'
import { endpoints } from '../../src/ingest/endpoints.ts'
import { matchesWireSchema, validateBatch } from '../../src/ingest/validate.ts'

const schema = TypeCompiler.Compile(IngestBatch)
const collect = endpoints.find((e) => e.path === '/v1/events/collect')!

const id = fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/)
const event = wireEventArb(int(0, 8_640_000_000_000)).map((e) => ({ ...e, url: 'https://a.example/p' }))
const batch = fc.record({
  siteKey: id,
  batchId: id,
  visitorId: id,
  sessionId: id,
  events: fc.array(event, { minLength: 1, maxLength: 5 }),
})
/** Anything JSON holds: what a broken field or event may be instead. */
const json = fc.jsonValue({ maxDepth: 2 })
/** A name a field may have: the schema's own names (on the wrong object) and others. */
const name = fc.oneof(
  fc.constantFrom(
    'type',
    'ts',
    'url',
    'x',
    'selector',
    'ox',
    'referrer',
    'rest',
    'depth',
    'count',
    'band0',
    'ms',
  ),
  fc.constantFrom('events', 'siteKey', '__proto__', 'constructor', 'toString', ''),
  text(8),
)

/** One change to a valid batch: a field of the batch or of one event set, removed or added. */
const broken = fc
  .tuple(batch, fc.nat(), name, json, fc.constantFrom('set', 'remove', 'event'))
  .map(([b, at, key, value, how]) => {
    const copy = JSON.parse(JSON.stringify(b)) as Record<string, unknown> & { events: unknown[] }
    const i = at % copy.events.length
    const target = at % 3 === 0 ? copy : (copy.events[i] as Record<string, unknown>)
    if (how === 'event') copy.events[i] = value
    else if (how === 'remove') delete target[key]
    else target[key] = value
    return copy
  })

/** As the gateway gets it: the text through `JSON.parse`. */
const parsed = (v: unknown): unknown => JSON.parse(JSON.stringify(v))

describe('ingest validation', () => {
  test('the fast check agrees with the schema on valid batches', () => {
    fc.assert(
      fc.property(batch, (b) => {
        const v = parsed(b)
        assert.equal(schema.Check(v), true)
        assert.equal(matchesWireSchema(v), true)
      }),
      { numRuns: 500 },
    )
  })

  test('the fast check agrees with the schema on batches broken in one place', () => {
    let rejected = 0
    fc.assert(
      fc.property(broken, (b) => {
        const v = parsed(b)
        const verdict = schema.Check(v)
        if (!verdict) rejected++
        assert.equal(matchesWireSchema(v), verdict)
        assert.equal(validateBatch(v, collect).problem === undefined, verdict)
      }),
      { numRuns: 3000 },
    )
    // The arbitrary breaks most batches; a run where nearly nothing was invalid tested little.
    assert.ok(rejected > 1000, `${rejected} of 3000 batches were invalid`)
  })

  test('a property of a name no event has is refused, also one JSON.parse makes an own __proto__', () => {
    const body = (extra: string) =>
      `{"siteKey":"abcd1234","batchId":"abcd1234","visitorId":"v","sessionId":"s","events":[{"type":"click","ts":1,"url":"https://a.example/","vw":1,"vh":1,"dw":1,"dh":1,"x":0,"y":0${extra}}]}`
    assert.equal(matchesWireSchema(JSON.parse(body(''))), true)
    for (const extra of [',"z":1', ',"__proto__":{}', ',"rest":5']) {
      const v: unknown = JSON.parse(body(extra))
      assert.equal(schema.Check(v), false, extra)
      assert.equal(matchesWireSchema(v), false, extra)
      assert.match(validateBatch(v, collect).problem ?? '', /events\.0/, extra)
    }
  })

  test('an event type that names a property of every object is refused as a type, not thrown on', () => {
    for (const type of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const v: unknown = JSON.parse(
        `{"siteKey":"abcd1234","batchId":"abcd1234","visitorId":"v","sessionId":"s","events":[{"type":"${type}","ts":1}]}`,
      )
      assert.equal(matchesWireSchema(v), false, type)
      assert.match(
        validateBatch(v, collect).problem ?? '',
        /^events\.0\.type: must be one of pageview, click/,
        type,
      )
    }
  })
})
