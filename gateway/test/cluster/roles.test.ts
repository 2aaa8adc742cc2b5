/**
 * A cluster split by role, as compose and Nomad run it: one gateway-only process (`HM_ROLE=gateway`:
 * the API, ingestion and console, no actors, no shard) in front of two runtime-only nodes
 * (`HM_ROLE=runtime`: the actors, serving only health and metrics). Events posted to the gateway are
 * counted exactly once in ClickHouse by the runtime nodes; the gateway's heatmap answers (with the actors'
 * unflushed cells, asked over NATS) and its live socket (deltas published on the runtime nodes) work.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { batch, click, heatmap, post, waitFor } from '../helpers/events.ts'
import type { Running, RunningNode } from '../helpers/process.ts'
import { connect } from '../query/ws-client.ts'
import { ClusterScene, type NodeView } from './cluster-scene.ts'

const SHARDS = 8
let scene: ClusterScene
let gateway: Running
let runtimes: RunningNode[]

before(async () => {
  scene = await ClusterScene.create({ natsUrl: 'nats://127.0.0.1:4222', shards: SHARDS, tag: 'r' })
  // The runtime nodes first: a gateway alone has nobody to hand its events to (they wait in the stream).
  runtimes = [await scene.startRuntime('r1'), await scene.startRuntime('r2')]
  gateway = await scene.start('gw', { HM_ROLE: 'gateway' })
})
after(async () => {
  await scene.destroy()
})

describe('a gateway-only process in front of runtime-only nodes', () => {
  test('the gateway holds no shard; the runtime nodes hold every one between them', async () => {
    const view = await waitFor(
      () => scene.view(gateway),
      (v: NodeView & { leaseHolders?: Array<string | null> }) =>
        JSON.stringify(v.members) === JSON.stringify(['r1', 'r2']) &&
        (v.leaseHolders ?? []).every((h) => h === 'r1' || h === 'r2'),
      60_000,
    )
    assert.equal(view.nodeId, 'gw')
    assert.deepEqual(view.shards, [], 'a gateway-only process pulls no shard')
    const healths = await Promise.all(
      runtimes.map(async (r) => (await fetch(`${r.url}/v1/health`)).json() as Promise<HealthView>),
    )
    const pulled = healths.flatMap((h) => h.cluster?.shards ?? []).sort((a, b) => a - b)
    assert.deepEqual(
      pulled,
      Array.from({ length: SHARDS }, (_, s) => s),
      'every shard on exactly one runtime node',
    )
    const gwHealth = (await (await fetch(`${gateway.url}/v1/health`)).json()) as HealthView
    assert.equal(gwHealth.runtime, null, 'no actor runtime in the gateway')
  })

  test('a runtime node serves health and metrics only', async () => {
    const r = runtimes[0]!
    const metrics = await (await fetch(`${r.url}/metrics`)).text()
    assert.match(metrics, /hm_runtime_active_actors/)
    for (const path of ['/v1/sites', '/console/', '/v1/events/health']) {
      const res = await fetch(`${r.url}${path}`)
      assert.equal(res.status, 404, path)
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'HM_ERR_NOT_FOUND')
    }
    const ingest = await post(r.url, batch('whatever', [click('https://demo.example/x', 1, 1)]))
    assert.equal(ingest.status, 404, 'no ingestion on a runtime node')
  })

  test('events posted to the gateway: counted exactly once, live on its socket, in its heatmap', async () => {
    const { siteId, siteKey, apiKey } = gateway.creds
    const page = '/roles/live'
    const url = `${gateway.url}/v1/sites/${siteId}/live?page=${page}&type=click`
    const up = await connect(url, { authorization: `Bearer ${apiKey}` })
    assert.ok(up.ok, up.ok ? '' : `${up.status} ${up.body}`)
    const ws = up.socket
    try {
      await ws.next<{ kind: string }>((m) => m.kind === 'hello')
      // The runtime nodes hear of the gateway's interest within a moment: send until a delta arrives.
      let accepted = 0
      let delta: { cells: Array<[number, number, number]> } | undefined
      const heard = ws
        .next<{ kind: string; cells: Array<[number, number, number]> }>((m) => m.kind === 'delta')
        .then((d) => {
          delta = d
        })
      while (delta === undefined) {
        const events = Array.from({ length: 5 }, () => click(`https://demo.example${page}`, 640, 100))
        const r = await post(gateway.url, batch(siteKey, events))
        assert.equal(r.status, 202, await r.text())
        accepted += events.length
        await Promise.race([heard, new Promise((res) => setTimeout(res, 300))])
      }
      assert.deepEqual(
        delta.cells.map(([x, y]) => [x, y]),
        [[64, 6]],
      )
      // The gateway's answer merges what ClickHouse holds with what the actors hold unflushed.
      await waitFor(
        () => heatmap(gateway.url, apiKey, siteId, { page, type: 'click' }),
        (h) => h.total === accepted,
        30_000,
      )
      assert.equal(await scene.exact(siteId, 'roles', accepted), accepted)
    } finally {
      ws.close()
    }
  })
})

interface HealthView {
  status: string
  runtime: { shards: number } | null
  cluster?: { nodeId: string; shards: number[] } | null
}
