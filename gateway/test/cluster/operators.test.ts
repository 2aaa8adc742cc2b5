/**
 * Cluster mode's instance-wide routes, on two real node processes: `GET /v1/cluster` answers the
 * instance operator only (not an organisation's owner, not an API key), and the runtime dashboard of
 * either node merges both nodes' figures, gathered over NATS, with the shards each pulls.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { RuntimeView } from '../../src/plugins/runtime-dashboard.ts'
import { batch, click, post, waitFor } from '../helpers/events.ts'
import type { Running } from '../helpers/process.ts'
import { ClusterScene } from './cluster-scene.ts'

const SHARDS = 8
let scene: ClusterScene
let n1: Running
let n2: Running

before(async () => {
  scene = await ClusterScene.create({ natsUrl: 'nats://127.0.0.1:4222', shards: SHARDS, tag: 'op' })
  n1 = await scene.start('n1')
  n2 = await scene.start('n2')
  await scene.settled([n1, n2])
})
after(async () => {
  await scene?.destroy()
})

const get = async (node: Running, path: string, token?: string) => {
  const r = await fetch(`${node.url}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
  // biome-ignore lint/suspicious/noExplicitAny: answers of several shapes, read by the tests
  return { status: r.status, body: (await r.json()) as any }
}

describe('operators in a cluster', { timeout: 240_000 }, () => {
  test('/v1/cluster: the operator reads it; an owner of an organisation and an API key are refused', async () => {
    const op = await get(n2, '/v1/cluster', await scene.operatorToken(n1))
    assert.equal(op.status, 200, JSON.stringify(op.body))
    assert.deepEqual(op.body.members, ['n1', 'n2'])

    const signup = await fetch(`${n1.url}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `tenant.${scene.run}@example.com`,
        name: 'Tenant',
        password: 'a long enough password',
        organization: 'Tenant org',
      }),
    })
    assert.equal(signup.status, 201)
    const tenant = ((await signup.json()) as { accessToken: string }).accessToken
    for (const node of [n1, n2]) {
      const owner = await get(node, '/v1/cluster', tenant)
      assert.deepEqual([owner.status, owner.body.error.code], [403, 'HM_ERR_AUTH_FORBIDDEN'])
      assert.match(owner.body.error.message, /instance:read/)
      const key = await get(node, '/v1/cluster', node.creds.apiKey)
      assert.deepEqual([key.status, key.body.error.code], [403, 'HM_ERR_AUTH_FORBIDDEN'])
      const runtime = await get(node, '/v1/runtime', tenant)
      assert.deepEqual([runtime.status, runtime.body.error.code], [403, 'HM_ERR_AUTH_FORBIDDEN'])
    }
  })

  test("either node's runtime dashboard shows both nodes, each with the shards it pulls, and the traffic", async () => {
    const token = await scene.operatorToken(n1)
    const views = await Promise.all([n1, n2].map((n) => scene.view(n)))
    for (const node of [n1, n2]) {
      const r = await get(node, '/v1/runtime', token)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      const v = r.body as RuntimeView
      assert.deepEqual(v.members, ['n1', 'n2'])
      assert.deepEqual(v.missing, [])
      assert.deepEqual(
        v.nodes.map((n) => n.nodeId),
        ['n1', 'n2'],
      )
      // The same shards /v1/cluster says each node pulls; together, every shard once.
      for (const n of v.nodes)
        assert.deepEqual(n.shards, views.find((x) => x.nodeId === n.nodeId)!.shards, n.nodeId)
      assert.deepEqual(
        v.nodes.flatMap((n) => n.shards).sort((a, b) => a - b),
        Array.from({ length: SHARDS }, (_, s) => s),
      )
      assert.equal(v.totals.shards, SHARDS)
    }
    const quiet = (await get(n1, '/v1/runtime', token)).body as RuntimeView
    assert.equal(quiet.totals.byType.page, undefined, 'no page actor has run before the traffic')
    // Clicks on 16 pages land on both nodes' shards: both count page-actor turns.
    const events = Array.from({ length: 16 }, (_, i) => click(`https://demo.example/op/p${i}`, 5, 5))
    const r = await post(n1.url, batch(n1.creds.siteKey, events))
    assert.equal(r.status, 202)
    const busy = await waitFor(
      async () => (await get(n2, '/v1/runtime', token)).body as RuntimeView,
      (v) => v.nodes.length === 2 && v.nodes.every((n) => (n.byType.page?.turns ?? 0) > 0),
      30_000,
    )
    assert.ok(busy.totals.byType.page!.active > 0)
  })
})
