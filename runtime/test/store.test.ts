import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { createClient } from '@clickhouse/client'
import { createChdbConnection } from 'chdb/connection'
import {
  ClickHouseRuntimeStore,
  FileJournalStore,
  type FlushRecord,
  MemoryRuntimeStore,
  type RuntimeStore,
  shardId,
} from '../src/index.ts'

const dirs: string[] = []
const closers: Array<() => Promise<void>> = []
after(async () => {
  for (const c of closers) await c()
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s)
const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b)

function contract(name: string, open: () => Promise<RuntimeStore>): void {
  describe(`runtime store contract: ${name}`, () => {
    test('the latest snapshot of each asked actor comes back; a deletion hides it', async () => {
      const store = await open()
      await store.save({
        snapshots: [
          { type: 'a', key: 'k1', shard: 1, data: bytes('v1') },
          { type: 'a', key: 'k2', shard: 2, data: bytes('w1') },
          { type: 'b', key: 'k1', shard: 3, data: bytes('x1') },
        ],
        reminders: [],
        deadLetters: [],
      })
      await store.save({
        snapshots: [
          { type: 'a', key: 'k1', shard: 1, data: bytes('v2') },
          { type: 'a', key: 'k2', shard: 2, data: null },
        ],
        reminders: [],
        deadLetters: [],
      })
      const got = await store.loadSnapshots([
        { type: 'a', key: 'k1' },
        { type: 'a', key: 'k2' },
        { type: 'b', key: 'k2' },
        { type: 'a', key: 'k1' },
      ])
      assert.equal(text(got.get('a\u0000k1')), 'v2')
      assert.equal(got.has('a\u0000k2'), false, 'deleted')
      assert.equal(got.has('b\u0000k2'), false, 'never stored; b/k1 was not asked for')
      assert.equal(got.size, 1)
    })

    test('the actors with a snapshot are listed by shard, deleted ones not', async () => {
      const store = await open()
      await store.save({
        snapshots: [
          { type: 'a', key: 'k1', shard: 1, data: bytes('v1') },
          { type: 'a', key: 'k2', shard: 1, data: bytes('w1') },
          { type: 'b', key: 'k3', shard: 2, data: bytes('x1') },
          { type: 'a', key: 'k4', shard: 3, data: bytes('y1') },
        ],
        reminders: [],
        deadLetters: [],
      })
      await store.save({
        snapshots: [{ type: 'a', key: 'k2', shard: 1, data: null }],
        reminders: [],
        deadLetters: [],
      })
      const refs: string[] = []
      for await (const r of store.snapshotRefs([shardId(1), shardId(2)])) refs.push(`${r.type}/${r.key}`)
      assert.deepEqual(refs.sort(), ['a/k1', 'b/k3'])
    })

    test('reminders load by shard; a cancellation removes one', async () => {
      const store = await open()
      const r = (name: string, shard: number, at: number | null) => ({
        type: 'a',
        key: `r-${name}`,
        shard,
        name,
        at,
        message: bytes(name),
      })
      await store.save({
        snapshots: [],
        reminders: [r('one', 4, 1000), r('two', 4, 2000), r('three', 5, 3000)],
        deadLetters: [],
      })
      await store.save({ snapshots: [], reminders: [r('two', 4, null)], deadLetters: [] })
      const got = await store.loadReminders([shardId(4)])
      assert.deepEqual(
        got.map((x) => [x.name, x.at, text(x.message)]),
        [['one', 1000, 'one']],
      )
    })

    test('dead letters are kept with their reason', async () => {
      const store = await open()
      await store.save({
        snapshots: [],
        reminders: [],
        deadLetters: [{ type: 'a', key: 'k', shard: 1, seq: 42, reason: 'Error: boom', at: Date.now() }],
      })
      const got = await store.deadLetters(10)
      assert.equal(got.length, 1)
      assert.equal(got[0]!.seq, 42)
      assert.equal(got[0]!.reason, 'Error: boom')
    })

    test('a save with a token is stored once; the later version wins whatever order saves land in', async () => {
      const store = await open()
      const snap = (data: string) => ({ type: 'a', key: 'tok', shard: 1, data: bytes(data) })
      const letter = { type: 'a', key: 'tok', shard: 1, seq: 7, reason: 'once', at: Date.now() }
      await store.save(
        { snapshots: [snap('v2')], reminders: [], deadLetters: [letter] },
        { token: 't2', version: 200 },
      )
      // An older flush applied late (another node finishing it) does not overwrite the newer state.
      await store.save(
        { snapshots: [snap('v1')], reminders: [], deadLetters: [] },
        { token: 't1', version: 100 },
      )
      // The newer flush applied again: nothing stored twice.
      await store.save(
        { snapshots: [snap('v2')], reminders: [], deadLetters: [letter] },
        { token: 't2', version: 200 },
      )
      assert.equal(text((await store.loadSnapshots([{ type: 'a', key: 'tok' }])).get('a\u0000tok')), 'v2')
      assert.equal((await store.deadLetters(10)).filter((l) => l.reason === 'once').length, 1)
    })

    test('committed flushes are pending until applied; positions only rise; pruning keeps pending ones', async () => {
      const store = await open()
      const now = Date.now()
      const record = (
        id: string,
        version: number,
        at: number,
        positions: Array<[number, number]>,
      ): FlushRecord => ({
        id,
        version,
        at,
        positions,
        payload: bytes(`payload of ${id}`),
      })
      const r1 = record('r1', 1, now, [
        [1, 10],
        [2, 5],
      ])
      const r2 = record('r2', 2, now, [[1, 20]])
      await store.commit(r1)
      await store.commit(r2)
      await store.commit(r1)
      const ids = async (): Promise<string[]> => (await store.pending()).map((r) => r.id)
      const pending = await store.pending()
      assert.deepEqual(
        pending.map((r) => [r.id, r.version, r.positions.map((p) => [...p]), text(r.payload)]),
        [
          [
            'r1',
            1,
            [
              [1, 10],
              [2, 5],
            ],
            'payload of r1',
          ],
          ['r2', 2, [[1, 20]], 'payload of r2'],
        ],
      )
      assert.equal(pending[0]!.at, now)
      await store.applied(r1)
      assert.deepEqual(await ids(), ['r2'])
      await store.applied(r2)
      await store.applied(r1)
      assert.deepEqual(await ids(), [])
      assert.deepEqual(
        [...(await store.positions())].sort((a, b) => a[0] - b[0]),
        [
          [1, 20],
          [2, 5],
        ],
      )
      // Hours old: one applied, one not (its node died before applying it). Pruning drops only the first.
      const old = record('old', 3, now - 3 * 3_600_000, [[3, 4]])
      const stuck = record('stuck', 4, now - 2 * 3_600_000, [[4, 9]])
      await store.commit(old)
      await store.commit(stuck)
      await store.applied(old)
      await store.prune(now - 3_600_000)
      assert.deepEqual(await ids(), ['stuck'])
      assert.equal((await store.positions()).get(shardId(3)), 4)
      // An erasure forgets every applied record at once (r1 and r2, committed this hour), never a pending one.
      assert.equal(await store.forgetApplied(), 2)
      assert.equal(await store.forgetApplied(), 0)
      assert.deepEqual(await ids(), ['stuck'])
    })
  })
}

contract('memory', async () => new MemoryRuntimeStore())
contract('journal in local files, the rest in memory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hm-rt-journal-'))
  dirs.push(dir)
  const store = await FileJournalStore.open(new MemoryRuntimeStore(), dir)
  closers.push(() => store.close())
  return store
})
let n = 0
contract('ClickHouse on chDB', async () => {
  if (dirs.length === 0) {
    const dir = await mkdtemp(join(tmpdir(), 'hm-rt-store-'))
    dirs.push(dir)
  }
  const connection = createChdbConnection({ path: dirs[0]! }) as unknown as NonNullable<
    Parameters<typeof createClient>[0]
  >['connection']
  const client = createClient({ connection })
  closers.push(() => client.close())
  const store = new ClickHouseRuntimeStore(client, `rt_test_${process.pid}_${n++}`)
  await store.migrate()
  return store
})
