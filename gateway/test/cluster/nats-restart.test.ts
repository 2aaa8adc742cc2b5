import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { IngestBatch } from '@hm/actors'
import { placeShards } from '@hm/runtime'
import { batch, click, post, waitFor } from '../helpers/events.ts'
import { exited, type Running } from '../helpers/process.ts'
import { ClusterScene, PrivateNatsServer } from './cluster-scene.ts'

const SHARDS = 16
const BATCHES = 90
const PER_BATCH = 20
let dir: string
let nats: PrivateNatsServer
let scene: ClusterScene

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hm-nats-restart-'))
  // A server of this test's own: the machine's shared one on 4222 is never restarted.
  nats = await PrivateNatsServer.start(join(dir, 'nats'))
  scene = await ClusterScene.create({ natsUrl: nats.url, shards: SHARDS, tag: 'nr' })
})
after(async () => {
  // A failure while the server was down must not leave the clean-up without it.
  try {
    if (!nats.running) await nats.start()
    await scene.destroy()
  } finally {
    await nats.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

/** Rejects when `p` takes longer than `ms`: a bound on waiting, not on speed. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  return Promise.race([p, limit]).finally(() => clearTimeout(timer))
}

interface Refusal {
  gateway: string
  status: number
  code: string | undefined
  retryAfter: string | null
}

/**
 * The SDK's way, one client per gateway: each sends its share of the batches in order (batch i to gateway
 * i mod n) and sends a refused one (429 or 5xx) again with the same batch id after `Retry-After`, until it
 * is accepted. Pushes every refusal to `refusals` as it comes and, after each accepted batch, waits for
 * `onAccepted` with the number of batches accepted so far (a test holds the clients there while it acts);
 * returns the clicks accepted.
 */
async function send(
  gateways: Running[],
  batches: IngestBatch[],
  refusals: Refusal[],
  onAccepted: (batches: number) => Promise<void>,
): Promise<number> {
  let accepted = 0
  let done = 0
  await Promise.all(
    gateways.map(async (gateway, g) => {
      for (let i = g; i < batches.length; i += gateways.length) {
        const b = batches[i]!
        for (;;) {
          const r = await post(gateway.url, b)
          const body = (await r.json()) as { accepted?: number; error?: { code: string } }
          if (r.status === 202) {
            assert.equal(body.accepted, b.events.length)
            accepted += b.events.length
            break
          }
          const retryAfter = r.headers.get('retry-after')
          refusals.push({ gateway: gateway.url, status: r.status, code: body.error?.code, retryAfter })
          await new Promise((res) => setTimeout(res, Number(retryAfter ?? 1) * 1000))
        }
        await onAccepted(++done)
      }
    }),
  )
  return accepted
}

describe('three node processes while their NATS server restarts', () => {
  test('NATS stopped and started again mid-stream: nodes reconnect, leases recover, never two owners, ClickHouse holds exactly the accepted clicks', async (t) => {
    const ids = ['n1', 'n2', 'n3']
    const nodes: Running[] = []
    for (const id of ids) nodes.push(await scene.start(id))
    const n1 = nodes[0]!
    await scene.settled(nodes)
    await scene.recorder.until(() =>
      placeShards(SHARDS, ids).every((n, s) => scene.recorder.owners.get(s) === n),
    )
    const batches = Array.from({ length: BATCHES }, (_, b) =>
      batch(
        n1.creds.siteKey,
        Array.from({ length: PER_BATCH }, (_, i) =>
          click(`https://demo.example/restart/p${(b * PER_BATCH + i) % 32}`, (i % 10) * 128, 64),
        ),
      ),
    )
    const refusals: Refusal[] = []
    let halfway!: () => void
    const reachedHalfway = new Promise<void>((r) => (halfway = r))
    let stopped!: () => void
    const natsStopped = new Promise<void>((r) => (stopped = r))
    // From halfway on, a client sends its next batch only once the server is down: however fast the
    // first half went, the second half cannot slip in before the outage.
    const sending = send(nodes, batches, refusals, async (n) => {
      if (n < BATCHES / 2) return
      if (n === BATCHES / 2) halfway()
      await natsStopped
    })
    let refusedWhileDown = 0
    let restartedAt = 0
    const outage = (async () => {
      await reachedHalfway
      await nats.stop()
      stopped()
      // Every node's leases run out while the server is away: wait until their hosts pull nothing, and
      // until every gateway has refused a batch, so that batches cross the outage on every node.
      await waitFor(
        () => Promise.all(nodes.map((n) => scene.view(n))),
        (views) => views.every((v) => v.shards.length === 0),
        60_000,
      )
      await waitFor(
        async () => new Set(refusals.map((r) => r.gateway)).size,
        (n) => n === nodes.length,
        60_000,
      )
      refusedWhileDown = refusals.length
      // None of them could record losing their leases: the recorder takes them as crashed from here on.
      scene.recorder.outage(ids)
      restartedAt = Date.now()
      await nats.start()
    })()
    let accepted: number
    try {
      ;[accepted] = await within(Promise.all([sending, outage]), 300_000, 'the stream across the outage')
    } catch (e) {
      console.log(`${scene.outputs()}\n==== nats\n${nats.output()}`)
      throw e
    }
    assert.equal(accepted, BATCHES * PER_BATCH, 'every batch was accepted in the end')
    assert.ok(refusedWhileDown >= nodes.length)
    // While NATS was down the gateways answered, once the publish timed out, with a clear error to retry:
    // no hang, no 500.
    for (const r of refusals) {
      assert.deepEqual(
        { status: r.status, code: r.code },
        { status: 503, code: 'HM_ERR_INGEST_UNAVAILABLE' },
        JSON.stringify(refusals),
      )
      assert.ok(Number(r.retryAfter) > 0, `Retry-After ${r.retryAfter}`)
    }

    try {
      // The same processes reconnected (none exited), see each other again and pull every shard once.
      for (const n of nodes) assert.equal(n.child.exitCode, null, n.output())
      await scene.settled(nodes, 90_000)
      // Leases recovered: after the restart the shards were acquired again, where placement puts them.
      await within(
        scene.recorder.until(() =>
          placeShards(SHARDS, ids).every((n, s) => scene.recorder.owners.get(s) === n),
        ),
        60_000,
        'owners after the restart',
      )
      const afterRestart = scene.recorder.events.filter((e) => e.at >= restartedAt)
      for (const id of ids)
        assert.ok(
          afterRestart.some((e) => e.ev === 'acquire' && e.node === id),
          `${id} acquired shards after the restart`,
        )
      assert.equal(await scene.exact(n1.creds.siteId, 'restart', accepted), accepted)
      t.diagnostic(
        `${refusals.length} refusals around the outage; ${afterRestart.filter((e) => e.ev === 'acquire').length} shard acquisitions after its restart`,
      )
    } catch (e) {
      console.log(`${scene.outputs()}\n==== nats\n${nats.output()}`)
      throw e
    }

    for (const n of nodes) n.child.kill('SIGTERM')
    for (const n of nodes) assert.equal((await exited(n.child)).code, 0, n.output())
    await within(
      scene.recorder.until(() => scene.recorder.owners.size === 0),
      60_000,
      'every shard released',
    )
    assert.deepEqual(scene.recorder.violations, [])
  })
})
