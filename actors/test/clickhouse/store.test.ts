import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { ClickHouseClient } from '@clickhouse/client'
import { shardId, streamSeq } from '@hm/runtime'
import {
  type CellRow,
  ClickHouseSink,
  HeatmapQueries,
  migrateClickHouse,
  openClickHouse,
  PAGE_ACTOR,
} from '../../src/index.ts'

let dir: string
let client: ClickHouseClient
const db = `hm_test_${process.pid}`

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hm-ch-'))
  client = openClickHouse({ dataDir: dir })
})
after(async () => {
  await client.close()
  await rm(dir, { recursive: true, force: true })
})

describe('ClickHouse store on chDB', () => {
  test('migrations apply once and are recorded', async () => {
    assert.deepEqual(await migrateClickHouse(client, db), [1])
    assert.deepEqual(await migrateClickHouse(client, db), [])
  })

  test('the sink stores cells and positions; queries sum them per cell and range', async () => {
    const sink = new ClickHouseSink(client, db)
    const hour = Date.UTC(2026, 10, 26, 10) / 1000
    const rows: CellRow[] = [
      ['s1', '/', 'click', 'desktop', hour, 10, 5, 3],
      ['s1', '/', 'click', 'desktop', hour, 10, 5, 2],
      ['s1', '/', 'click', 'mobile', hour, 1, 1, 4],
      ['s1', '/', 'click', 'desktop', hour + 7200, 10, 5, 100],
      ['s1', '/other', 'click', 'desktop', hour, 10, 5, 50],
      ['s2', '/', 'click', 'desktop', hour, 10, 5, 70],
      ['s1', '/', 'pageview', 'desktop', hour, 0, 0, 9],
    ]
    await sink.write([
      { shard: shardId(1), upTo: streamSeq(10), drained: { [PAGE_ACTOR]: rows.slice(0, 3) } },
      { shard: shardId(2), upTo: streamSeq(12), drained: { [PAGE_ACTOR]: rows.slice(3) } },
      { shard: shardId(1), upTo: streamSeq(15), drained: {} },
    ])
    assert.deepEqual(
      [...(await sink.positions())].sort((a, b) => a[0] - b[0]),
      [
        [1, 15],
        [2, 12],
      ],
    )
    const q = new HeatmapQueries(client, db)
    const base = {
      siteId: 's1',
      page: '/',
      type: 'click' as const,
      from: hour * 1000,
      to: hour * 1000 + 3_600_000,
    }
    const all = await q.heatmap(base)
    assert.equal(all.total, 9)
    assert.deepEqual(all.cells, [
      [1, 1, 4],
      [10, 5, 5],
    ])
    const desktop = await q.heatmap({ ...base, viewport: 'desktop' })
    assert.deepEqual(desktop.cells, [[10, 5, 5]])
    const wide = await q.heatmap({ ...base, to: base.to + 3 * 3_600_000 })
    assert.equal(wide.total, 109)
    assert.deepEqual(await q.pages('s1', base.from, base.to), [{ page: '/', views: 9 }])
  })
})
