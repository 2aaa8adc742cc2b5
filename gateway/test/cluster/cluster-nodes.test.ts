import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { openClickHouse } from '@hm/actors'
import { connectCluster } from '@hm/runtime'
import { jetstreamManager } from '@nats-io/jetstream'
import pg from 'pg'
// The runtime's ownership recorder: replays the nodes' ownership log and flags two owners at once.
import { OwnershipRecorder } from '../../../runtime/test/cluster/ownership-recorder.ts'
import { type ChdbHttpServer, serveChdbHttp } from '../../src/cluster-clickhouse-server.ts'
import { batch, click, post, waitFor } from '../helpers/events.ts'
import { exited, type Running, startProcess } from '../helpers/process.ts'

const run = randomBytes(4).toString('hex')
const SHARDS = 16
const pgAdmin = 'postgres://postgres@127.0.0.1:5432/postgres'
const database = `hm_cluster_${run}`
const chDatabase = `hmc_${run}`
let dir: string
let analytics: ChdbHttpServer
let clickhouse: ReturnType<typeof openClickHouse>
let nc: Awaited<ReturnType<typeof connectCluster>>
let recorder: OwnershipRecorder
const running = new Map<string, Running>()

/** What every node of this test's cluster shares: NATS, the analytics endpoint, PostgreSQL, Redis. */
const env = (nodeId: string): Record<string, string> => ({
  HM_NATS_URL: 'nats://127.0.0.1:4222',
  HM_NATS_STREAM: `HM_EVENTS_C${run}`,
  HM_CLUSTER: `hmc_${run}`,
  HM_NODE_ID: nodeId,
  // Short leases keep the test quick; nothing below asserts on how long anything took.
  HM_LEASE_MS: '3000',
  HM_SHARDS: String(SHARDS),
  HM_THREADS: '1',
  HM_FLUSH_INTERVAL_MS: '200',
  HM_CLICKHOUSE_URL: analytics.url,
  HM_CLICKHOUSE_DATABASE: chDatabase,
  HM_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
  HM_REDIS_URL: 'redis://127.0.0.1:6379',
  HM_CLUSTER_OWNERSHIP_SUBJECT: recorder.subject,
})

async function start(nodeId: string): Promise<Running> {
  const r = await startProcess(join(dir, nodeId), env(nodeId))
  running.set(nodeId, r)
  return r
}

interface View {
  nodeId: string
  members: string[]
  shards: number[]
}

async function view(r: Running): Promise<View> {
  const res = await fetch(`${r.url}/v1/cluster`, { headers: { authorization: `Bearer ${r.creds.apiKey}` } })
  if (res.status !== 200) throw new Error(`/v1/cluster ${res.status}: ${await res.text()}`)
  return (await res.json()) as View
}

/** Every node sees `members`, and their hosts pull every shard exactly once between them. */
async function settled(nodes: Running[]): Promise<void> {
  const ids = (await Promise.all(nodes.map(view))).map((v) => v.nodeId).sort()
  await waitFor(
    () => Promise.all(nodes.map(view)),
    (views) => {
      const all = views.flatMap((v) => v.shards).sort((a, b) => a - b)
      return (
        views.every((v) => JSON.stringify(v.members) === JSON.stringify(ids)) &&
        JSON.stringify(all) === JSON.stringify(Array.from({ length: SHARDS }, (_, s) => s))
      )
    },
    60_000,
  )
}

async function clicksInClickHouse(siteId: string, tag: string): Promise<number> {
  const rs = await clickhouse.query({
    query: `SELECT toString(sum(count)) AS n FROM ${chDatabase}.heatmap_cells WHERE site_id = {site:String} AND startsWith(page, {tag:String})`,
    query_params: { site: siteId, tag: `/${tag}/` },
    format: 'JSONEachRow',
  })
  return Number((await rs.json<{ n: string }>())[0]?.n ?? 0)
}

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
  await waitFor(
    () => clicksInClickHouse(siteId, tag),
    (n) => n >= accepted,
    90_000,
  )
  // Whatever replays were still in flight have had time to land twice, if they could.
  await new Promise((r) => setTimeout(r, 1500))
  assert.equal(await clicksInClickHouse(siteId, tag), accepted)
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hm-cluster-'))
  analytics = await serveChdbHttp({ dataDir: join(dir, 'analytics'), port: 0 })
  clickhouse = openClickHouse({ url: analytics.url, dataDir: dir })
  nc = await connectCluster('nats://127.0.0.1:4222', `test-${run}`)
  recorder = await OwnershipRecorder.create(nc, `HM_OWNERSHIP_C${run}`, `hmtest.own.c${run}`)
  const c = new pg.Client(pgAdmin)
  await c.connect()
  await c.query(`CREATE DATABASE ${database}`)
  await c.end()
})
after(async () => {
  for (const r of running.values()) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL')
    await exited(r.child)
  }
  await recorder.destroy()
  const jsm = await jetstreamManager(nc)
  for (const s of [`HM_EVENTS_C${run}`, `KV_hmc_${run}_members`, `KV_hmc_${run}_leases`])
    await jsm.streams.delete(s).catch(() => undefined)
  await nc.close()
  await clickhouse.close()
  await analytics.close()
  const c = new pg.Client(pgAdmin)
  await c.connect()
  await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)
  await c.end()
  await rm(dir, { recursive: true, force: true })
})

describe('three node processes of one cluster', () => {
  test('kill -9 of a node mid-stream, then its restart: ClickHouse holds exactly the accepted clicks', async () => {
    const n1 = await start('n1')
    const n2 = await start('n2')
    await start('n3')
    await settled([...running.values()])
    const accepted = await stream(n1, 'kill', 60, async () => {
      const n3 = running.get('n3')!
      n3.child.kill('SIGKILL')
      await exited(n3.child)
      // Recorded before any other node can take n3's shards: their leases outlive it by HM_LEASE_MS.
      await recorder.record({ ev: 'crash', node: 'n3' })
    })
    await settled([n1, n2])
    const again = await start('n3')
    await settled([n1, n2, again])
    try {
      await exact(n1.creds.siteId, 'kill', accepted)
    } catch (e) {
      for (const [id, r] of running) console.log(`==== ${id}\n${r.output()}`)
      throw e
    }
  })

  test('SIGTERM drains a node mid-stream: it exits 0 and ClickHouse holds exactly the accepted clicks', async () => {
    const n1 = running.get('n1')!
    const n3 = running.get('n3')!
    const anonymous = await fetch(`${n1.url}/v1/cluster`)
    assert.equal(anonymous.status, 401)
    assert.equal(((await anonymous.json()) as { error: { code: string } }).error.code, 'HM_ERR_AUTH_MISSING')
    const badKey = await fetch(`${n1.url}/v1/cluster`, { headers: { authorization: 'Bearer hm_nope' } })
    assert.equal(badKey.status, 401)
    let code: number | null = null
    const accepted = await stream(n1, 'term', 60, async () => {
      const n2 = running.get('n2')!
      n2.child.kill('SIGTERM')
      ;({ code } = await exited(n2.child))
    })
    assert.equal(code, 0, running.get('n2')!.output())
    await settled([n1, n3])
    await exact(n1.creds.siteId, 'term', accepted)
    for (const r of [n1, n3]) r.child.kill('SIGTERM')
    for (const r of [n1, n3]) assert.equal((await exited(r.child)).code, 0, r.output())
    await recorder.until(() => recorder.owners.size === 0)
    assert.deepEqual(recorder.violations, [])
    for (const n of ['n1', 'n2', 'n3'])
      assert.ok(
        recorder.events.some((e) => e.ev === 'acquire' && e.node === n),
        `${n} owned shards`,
      )
  })
})
