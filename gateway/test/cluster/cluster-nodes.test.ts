import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { batch, click, post } from '../helpers/events.ts'
import { exited, type Running } from '../helpers/process.ts'
import { ClusterScene } from './cluster-scene.ts'

const SHARDS = 16
let scene: ClusterScene

/**
 * Posts `batches` batches of 20 clicks over 32 pages (so over most shards) through `gateway`, calling
 * `midway` after half of them. Returns how many clicks were accepted (answered 202).
 */
async function stream(
  gateway: Running,
  tag: string,
  batches: number,
  midway: () => Promise<void>,
): Promise<number> {
  let accepted = 0
  for (let b = 0; b < batches; b++) {
    if (b === Math.floor(batches / 2)) await midway()
    const events = Array.from({ length: 20 }, (_, i) =>
      click(`https://demo.example/${tag}/p${(b * 20 + i) % 32}`, (i % 10) * 128, 64),
    )
    const r = await post(gateway.url, batch(gateway.creds.siteKey, events))
    assert.equal(r.status, 202, await r.text())
    accepted += events.length
  }
  return accepted
}

async function exact(siteId: string, tag: string, accepted: number): Promise<void> {
  assert.equal(await scene.exact(siteId, tag, accepted), accepted)
}

before(async () => {
  scene = await ClusterScene.create({ natsUrl: 'nats://127.0.0.1:4222', shards: SHARDS, tag: 'c' })
})
after(async () => {
  await scene.destroy()
})

describe('three node processes of one cluster', () => {
  test('kill -9 of a node mid-stream, then its restart: ClickHouse holds exactly the accepted clicks', async () => {
    const n1 = await scene.start('n1')
    const n2 = await scene.start('n2')
    await scene.start('n3')
    await scene.settled([...scene.running.values()])
    const accepted = await stream(n1, 'kill', 60, async () => {
      const n3 = scene.node('n3')
      n3.child.kill('SIGKILL')
      await exited(n3.child)
      // Recorded before any other node can take n3's shards: their leases outlive it by HM_LEASE_MS.
      await scene.recorder.record({ ev: 'crash', node: 'n3' })
    })
    await scene.settled([n1, n2])
    const again = await scene.start('n3')
    await scene.settled([n1, n2, again])
    try {
      await exact(n1.creds.siteId, 'kill', accepted)
    } catch (e) {
      console.log(scene.outputs())
      throw e
    }
  })

  test('SIGTERM drains a node mid-stream: it exits 0 and ClickHouse holds exactly the accepted clicks', async () => {
    const n1 = scene.node('n1')
    const n3 = scene.node('n3')
    const anonymous = await fetch(`${n1.url}/v1/cluster`)
    assert.equal(anonymous.status, 401)
    assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'HM_ERR_AUTH_MISSING')
    const badKey = await fetch(`${n1.url}/v1/cluster`, { headers: { authorization: 'Bearer hm_nope' } })
    assert.equal(badKey.status, 401)
    let code: number | null = null
    const accepted = await stream(n1, 'term', 60, async () => {
      const n2 = scene.node('n2')
      n2.child.kill('SIGTERM')
      ;({ code } = await exited(n2.child))
    })
    assert.equal(code, 0, scene.node('n2').output())
    await scene.settled([n1, n3])
    await exact(n1.creds.siteId, 'term', accepted)
    for (const r of [n1, n3]) r.child.kill('SIGTERM')
    for (const r of [n1, n3]) assert.equal((await exited(r.child)).code, 0, r.output())
    await scene.recorder.until(() => scene.recorder.owners.size === 0)
    assert.deepEqual(scene.recorder.violations, [])
    for (const n of ['n1', 'n2', 'n3'])
      assert.ok(
        scene.recorder.events.some((e) => e.ev === 'acquire' && e.node === n),
        `${n} owned shards`,
      )
  })
})
