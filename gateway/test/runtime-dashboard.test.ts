/**
 * The runtime dashboard's API on the embedded platform: an instance operator (the demo owner, the first
 * account; and an account HM_OPERATOR_EMAILS names) reads the node's shards, workers, actors and turns/s,
 * once or as a stream that follows traffic; a non-operator owner, an API key and an anonymous caller are
 * refused; closing the platform ends an open stream.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Platform } from '../src/index.ts'
import type { RuntimeView } from '../src/plugins/runtime-dashboard.ts'
import { batch, click, post } from './helpers/events.ts'
import { startTestPlatform } from './helpers/platform.ts'

const OPS_EMAIL = 'Ops.Person@Example.com'
let platform: Platform
let stop: (() => Promise<void>) | undefined

before(async () => {
  ;({ platform, stop } = await startTestPlatform({
    HM_OPERATOR_EMAILS: ` ${OPS_EMAIL}, other.op@example.com`,
  }))
})
after(async () => {
  await stop?.()
})

const json = async (path: string, init: RequestInit & { token?: string } = {}) => {
  const r = await fetch(`${platform.url}${path}`, {
    ...init,
    headers: {
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
  })
  // biome-ignore lint/suspicious/noExplicitAny: answers of several shapes, read by the tests
  return { status: r.status, body: (await r.json()) as any }
}
const signUp = async (email: string): Promise<string> => {
  const r = await json('/v1/auth/signup', {
    method: 'POST',
    body: JSON.stringify({ email, name: 'someone', password: 'a long enough password', organization: 'org' }),
  })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return r.body.accessToken
}
const demoToken = async (): Promise<string> => {
  const { email, password } = platform.demo!
  const r = await json('/v1/auth/login', { method: 'POST', body: JSON.stringify({ email, password }) })
  assert.equal(r.status, 200, JSON.stringify(r.body))
  return r.body.accessToken
}

/** The `stats` events of a server-sent stream. */
async function* statsEvents(res: Response): AsyncGenerator<RuntimeView> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffer += value
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      if (/^event: stats$/m.test(frame))
        yield JSON.parse(
          frame
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n'),
        ) as RuntimeView
    }
  }
}

describe('the runtime dashboard API', { timeout: 180_000 }, () => {
  test("the first account (the demo owner) operates the instance: /v1/me lists instance:read, and /v1/runtime shows the node's figures", async () => {
    const token = await demoToken()
    const me = await json('/v1/me', { token })
    assert.ok(me.body.permissions.includes('instance:read'))
    const r = await json('/v1/runtime', { token })
    assert.equal(r.status, 200, JSON.stringify(r.body))
    const v = r.body as RuntimeView
    assert.equal(v.nodes.length, 1)
    assert.deepEqual(v.members, [v.nodes[0]!.nodeId])
    assert.deepEqual(v.missing, [])
    const node = v.nodes[0]!
    // The test platform: 16 shards, 2 worker threads, all in this process.
    assert.deepEqual(
      node.shards,
      Array.from({ length: 16 }, (_, s) => s),
    )
    assert.equal(node.threads, 2)
    assert.equal(node.workers.length, 2)
    assert.deepEqual([v.totals.nodes, v.totals.shards, v.totals.threads], [1, 16, 2])
  })

  test('the stream follows traffic: page actors become active and their turns/s rise above zero', async () => {
    const token = await demoToken()
    const ac = new AbortController()
    const res = await fetch(`${platform.url}/v1/runtime/stream`, {
      headers: { authorization: `Bearer ${token}` },
      signal: ac.signal,
    })
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/)
    const { siteKey } = platform.demo!
    let sending = true
    const traffic = (async () => {
      for (let n = 0; sending; n++) {
        const r = await post(
          platform.url,
          batch(siteKey, [click(`https://shop.example/rt/${n % 5}`, 10, 10)]),
        )
        assert.equal(r.status, 202)
        await new Promise((r) => setTimeout(r, 100))
      }
    })()
    let first: RuntimeView | undefined
    let busy: RuntimeView | undefined
    try {
      for await (const v of statsEvents(res)) {
        first ??= v
        const page = v.totals.byType.page
        if (
          page !== undefined &&
          page.active > 0 &&
          page.turnsPerSecond > 0 &&
          v.nodes[0]!.rateWindowMs > 0
        ) {
          busy = v
          break
        }
      }
    } finally {
      sending = false
      ac.abort()
      await traffic
    }
    assert.ok(first !== undefined, 'a first event at once')
    assert.ok(busy !== undefined, 'an event showing the traffic')
    assert.ok(busy.nodes[0]!.byType.page!.turns > 0)
    assert.ok(busy.totals.turnsPerSecond >= busy.totals.byType.page!.turnsPerSecond)
    assert.ok(busy.nodes[0]!.deliveredPerSecond > 0)
  })

  test('an account HM_OPERATOR_EMAILS names operates too, whatever the case of its email', async () => {
    const token = await signUp('ops.person@example.com')
    assert.equal((await json('/v1/runtime', { token })).status, 200)
  })

  test('a non-operator owner, an API key and an anonymous caller are refused', async () => {
    const owner = await signUp(`owner.${Date.now()}@example.com`)
    const me = await json('/v1/me', { token: owner })
    assert.equal(me.body.role, 'owner')
    assert.ok(!me.body.permissions.includes('instance:read'))
    for (const path of ['/v1/runtime', '/v1/runtime/stream']) {
      const forbidden = await json(path, { token: owner })
      assert.deepEqual([forbidden.status, forbidden.body.error.code], [403, 'HM_ERR_AUTH_FORBIDDEN'], path)
      assert.match(forbidden.body.error.message, /instance:read/)
      const key = await json(path, { token: platform.demo!.apiKey })
      assert.deepEqual([key.status, key.body.error.code], [403, 'HM_ERR_AUTH_FORBIDDEN'], path)
      const anonymous = await json(path)
      assert.deepEqual([anonymous.status, anonymous.body.error.code], [401, 'HM_ERR_AUTH_MISSING'], path)
    }
    // /v1/cluster is cluster mode's: an embedded platform has no such route.
    assert.equal((await json('/v1/cluster', { token: await demoToken() })).status, 404)
  })

  test('stopping the platform ends an open stream (it does not hold the server open)', async () => {
    const res = await fetch(`${platform.url}/v1/runtime/stream`, {
      headers: { authorization: `Bearer ${await demoToken()}` },
    })
    const events = statsEvents(res)
    assert.equal((await events.next()).done, false)
    await stop!()
    stop = undefined
    // The stream ends (what was already sent is read first).
    let rest = 0
    for await (const _ of events) rest++
    assert.ok(rest < 5, `${rest} events after the stop`)
  })
})
