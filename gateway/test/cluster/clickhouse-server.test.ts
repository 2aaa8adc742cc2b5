import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createClient } from '@clickhouse/client'
import { ClickHouseSink, encodeTableRows, migrateClickHouse, openClickHouse, PAGE_ACTOR } from '@hm/actors'
import { ClickHouseRuntimeStore, type ShardId, type StreamSeq, shardId, streamSeq } from '@hm/runtime'
import { type ChdbHttpServer, serveChdbHttp } from '../../src/cluster-clickhouse-server.ts'

let dir: string
let server: ChdbHttpServer
type Client = ReturnType<typeof openClickHouse>
const clients: Client[] = []
const client = (): Client => {
  const c = openClickHouse({ url: server.url, dataDir: dir })
  clients.push(c)
  return c
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hm-chdb-http-'))
  server = await serveChdbHttp({ dataDir: dir, port: 0 })
})
after(async () => {
  for (const c of clients) await c.close()
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

describe('chDB over the ClickHouse HTTP interface', () => {
  test('@clickhouse/client pings, creates, inserts and reads back through it', async () => {
    const c = client()
    assert.equal((await c.ping()).success, true)
    await c.command({ query: 'CREATE DATABASE IF NOT EXISTS t1' })
    await c.command({
      query: 'CREATE TABLE t1.rows (k String, n UInt32, tags Array(String)) ENGINE = MergeTree ORDER BY k',
    })
    await c.insert({
      table: 't1.rows',
      values: [
        ['a', 1, ['x']],
        ["it's", 2, []],
        ['c\\d', 3, ['y', 'z']],
      ],
      format: 'JSONCompactEachRow',
    })
    await c.insert({ table: 't1.rows', values: [{ k: 'e', n: 4, tags: ['q'] }], format: 'JSONEachRow' })
    const rs = await c.query({
      query: 'SELECT k, n FROM t1.rows WHERE k IN {keys:Array(String)} OR n = {n:UInt32} ORDER BY n',
      query_params: { keys: ["it's", 'c\\d'], n: 4 },
      format: 'JSONEachRow',
    })
    assert.deepEqual(await rs.json(), [
      { k: "it's", n: 2 },
      { k: 'c\\d', n: 3 },
      { k: 'e', n: 4 },
    ])
    const sum = await c.query({ query: 'SELECT sum(n) AS s, count() AS c FROM t1.rows', format: 'JSON' })
    // 64-bit integers come as chDB writes them (numbers); callers read them with Number().
    const json = await sum.json<{ s: string; c: string }>()
    assert.deepEqual(
      json.data.map((r) => [Number(r.s), Number(r.c)]),
      [[10, 4]],
    )
  })

  test('errors come back as ClickHouse errors, with their code and type', async () => {
    const c = client()
    await assert.rejects(c.query({ query: 'SELECT nope()', format: 'JSONEachRow' }), (e: unknown) => {
      const err = e as { code?: string; type?: string; message: string }
      return err.code === '46' && err.type === 'UNKNOWN_FUNCTION' && /nope/.test(err.message)
    })
    // The endpoint goes on serving after an error.
    const rs = await c.query({ query: 'SELECT 41 + 1 AS x', format: 'JSONEachRow' })
    assert.deepEqual(await rs.json(), [{ x: 42 }])
  })

  test('gzip both ways', async () => {
    // openClickHouse leaves compression off; a client with it on must work the same.
    const z = createClient({ url: server.url, compression: { request: true, response: true } })
    try {
      await z.command({ query: 'CREATE TABLE IF NOT EXISTS t1.z (n UInt32) ENGINE = MergeTree ORDER BY n' })
      await z.insert({
        table: 't1.z',
        values: Array.from({ length: 1000 }, (_, n) => [n]),
        format: 'JSONCompactEachRow',
      })
      const rs = await z.query({ query: 'SELECT toString(sum(n)) AS s FROM t1.z', format: 'JSONEachRow' })
      assert.deepEqual(await rs.json(), [{ s: '499500' }])
    } finally {
      await z.close()
    }
  })

  test("the product's sink, runtime store and migrations run on it: a flush applied twice counts once", async () => {
    const c = client()
    await migrateClickHouse(c, 'hm_http')
    const store = new ClickHouseRuntimeStore(c, 'hm_http')
    await store.migrate()
    const sink = new ClickHouseSink(c, 'hm_http')
    const hour = Math.floor(Date.UTC(2026, 10, 26, 10) / 1000)
    const cell = ['s', '/', 'click', 'desktop', '', '', hour, 3, 4, 2]
    const drained = encodeTableRows({ [PAGE_ACTOR]: [['c', cell]] }, new Map())
    const batches = [{ shard: shardId(2), upTo: streamSeq(17), drained }]
    const record = {
      id: 'http-1',
      version: 1,
      at: Date.now(),
      positions: [[2, 17]] as const,
      payload: new Uint8Array([7]),
    }
    await store.commit(record)
    assert.deepEqual(
      (await store.pending()).map((r) => [r.id, [...r.payload]]),
      [['http-1', [7]]],
    )
    // Applied, then applied again (as after a crash before `applied`): stored once.
    await sink.write(batches, record.id)
    await sink.write(batches, record.id)
    await store.applied(record)
    assert.deepEqual(await store.pending(), [])
    assert.deepEqual(await store.positions(), new Map<ShardId, StreamSeq>([[shardId(2), streamSeq(17)]]))
    const rs = await c.query({
      query: "SELECT toString(sum(count)) AS n FROM hm_http.heatmap_cells WHERE site_id = 's'",
      format: 'JSONEachRow',
    })
    assert.deepEqual(await rs.json(), [{ n: '2' }])
  })

  test('concurrent inserts from several clients all land', async () => {
    const cs = [client(), client(), client()]
    await cs[0]!.command({
      query: 'CREATE TABLE t1.many (c UInt8, i UInt32) ENGINE = MergeTree ORDER BY (c, i)',
    })
    await Promise.all(
      cs.flatMap((c, ci) =>
        Array.from({ length: 10 }, (_, b) =>
          c.insert({
            table: 't1.many',
            values: Array.from({ length: 100 }, (_, i) => [ci, b * 100 + i]),
            format: 'JSONCompactEachRow',
          }),
        ),
      ),
    )
    const rs = await cs[1]!.query({
      query: 'SELECT c, toUInt32(count()) AS n FROM t1.many GROUP BY c ORDER BY c',
      format: 'JSONEachRow',
    })
    assert.deepEqual(await rs.json(), [
      { c: 0, n: 1000 },
      { c: 1, n: 1000 },
      { c: 2, n: 1000 },
    ])
  })

  test('the command-line server refuses requests without its password', async () => {
    // Its own process: chDB binds one data directory per process.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'gateway/src/cluster-clickhouse-main.ts',
        '--data-dir',
        join(dir, 'locked'),
        '--port',
        '0',
      ],
      {
        cwd: new URL('../../../', import.meta.url).pathname,
        env: { PATH: process.env.PATH, HM_CLICKHOUSE_PASSWORD: 's3cret' },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /listening (\S+)/.exec(out)
          if (m) resolve(m[1]!)
        })
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
      })
      const open = createClient({ url })
      const keyed = createClient({ url, password: 's3cret' })
      try {
        assert.equal((await open.ping()).success, true, 'ping needs no credentials, as on a server')
        await assert.rejects(
          open.query({ query: 'SELECT 1' }),
          (e: unknown) => (e as { code?: string }).code === '516',
        )
        const rs = await keyed.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })
        assert.deepEqual(await rs.json(), [{ one: 1 }])
      } finally {
        await open.close()
        await keyed.close()
      }
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    }
  })
})
