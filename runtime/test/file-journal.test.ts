import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { FileJournalStore, type FlushRecord, MemoryRuntimeStore, RuntimeError } from '../src/index.ts'

const dirs: string[] = []
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const HOUR = 3_600_000
const text = (b: Uint8Array): string => new TextDecoder().decode(b)

async function fresh(): Promise<{ dir: string; inner: MemoryRuntimeStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'hm-journal-'))
  dirs.push(dir)
  return { dir, inner: new MemoryRuntimeStore() }
}

function record(
  id: string,
  version: number,
  at: number,
  positions: Array<[number, number]>,
  size = 0,
): FlushRecord {
  const payload = new TextEncoder().encode(`payload of ${id}${'.'.repeat(size)}`)
  return { id, version, at, positions, payload }
}

const segments = async (dir: string): Promise<string[]> =>
  (await readdir(dir)).filter((n) => n.endsWith('.journal')).sort()

/** The start of an append cut short: a record's length and a few of its bytes. */
const TORN = Buffer.from([200, 0, 0, 0, 1, 2, 3])

/** A closed journal of two segments: record `old`, stamped two hours back, written first, then `new`. */
async function twoSegments(): Promise<{
  dir: string
  inner: MemoryRuntimeStore
  now: number
  names: string[]
}> {
  const { dir, inner } = await fresh()
  const now = Date.now()
  const j = await FileJournalStore.open(inner, dir)
  await j.commit(record('old', 1, now - 2 * HOUR, [[1, 5]]))
  await j.commit(record('new', 2, now, [[1, 6]]))
  await j.close()
  return { dir, inner, now, names: await segments(dir) }
}

test('committed records are read back after a reopen, payloads whole, a repeated commit stored once', async () => {
  const { dir, inner } = await fresh()
  const now = Date.now()
  const j = await FileJournalStore.open(inner, dir)
  const big = record(
    'r1',
    1,
    now,
    [
      [1, 10],
      [7, 3],
    ],
    200_000,
  )
  await j.commit(big)
  await j.commit(record('r2', 2, now, [[1, 20]]))
  await j.commit(big)
  await j.close()

  const again = await FileJournalStore.open(inner, dir)
  await again.commit(big)
  const pending = await again.pending()
  assert.deepEqual(
    pending.map((r) => [r.id, r.version, r.at, r.positions.map((p) => [...p])]),
    [
      [
        'r1',
        1,
        now,
        [
          [1, 10],
          [7, 3],
        ],
      ],
      ['r2', 2, now, [[1, 20]]],
    ],
  )
  assert.equal(text(pending[0]!.payload), text(big.payload))
  assert.equal(text(pending[1]!.payload), 'payload of r2')
  await again.applied(big)
  assert.deepEqual(
    (await again.pending()).map((r) => r.id),
    ['r2'],
  )
  await again.close()
})

test('a torn tail (an append cut short by a crash) is dropped; the records before it stay', async () => {
  const { dir, inner } = await fresh()
  const j = await FileJournalStore.open(inner, dir)
  await j.commit(record('r1', 1, Date.now(), [[1, 5]]))
  await j.close()
  const [name] = await segments(dir)
  const path = join(dir, name!)
  const whole = (await stat(path)).size
  // Half of a record: its length says more than follows.
  await appendFile(path, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5]))

  const again = await FileJournalStore.open(inner, dir)
  assert.equal((await stat(path)).size, whole, 'cut back to the last whole record')
  assert.deepEqual(
    (await again.pending()).map((r) => r.id),
    ['r1'],
  )
  await again.commit(record('r2', 2, Date.now(), [[1, 6]]))
  await again.close()
  const third = await FileJournalStore.open(inner, dir)
  assert.deepEqual(
    (await third.pending()).map((r) => r.id),
    ['r1', 'r2'],
  )
  await third.close()
})

test("a torn tail in an earlier hour's segment, appended to last, is dropped too", async () => {
  const { dir, inner } = await fresh()
  const now = Date.now()
  const j = await FileJournalStore.open(inner, dir)
  await j.commit(record('new', 1, now, [[1, 5]]))
  // A record stamped an hour earlier (a clock set back) goes to that hour's segment.
  await j.commit(record('late', 2, now - 2 * HOUR, [[2, 5]]))
  await j.close()
  const [earlier] = await segments(dir)
  await appendFile(join(dir, earlier!), TORN)
  const again = await FileJournalStore.open(inner, dir)
  assert.deepEqual(
    (await again.pending()).map((r) => r.id),
    ['new', 'late'],
  )
  await again.close()
})

test('segments with the same time may each be the one written last: a torn tail in either is dropped', async () => {
  const { dir, inner, now, names } = await twoSegments()
  assert.equal(names.length, 2)
  for (const name of names) await appendFile(join(dir, name), TORN)
  const when = new Date(now)
  for (const name of names) await utimes(join(dir, name), when, when)
  const again = await FileJournalStore.open(inner, dir)
  assert.deepEqual(
    (await again.pending()).map((r) => r.id),
    ['old', 'new'],
  )
  for (const name of names)
    assert.ok(!(await readFile(join(dir, name))).subarray(-TORN.length).equals(TORN), `${name} cut back`)
  await again.close()
})

test('a damaged record in a segment not written last stops the open, naming the segment', async () => {
  const {
    dir,
    inner,
    names: [first],
  } = await twoSegments()
  const path = join(dir, first!)
  const before = await stat(path)
  const bytes = await readFile(path)
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1)
  await writeFile(path, bytes)
  // Damage, not an append: the segment keeps a time before the newest segment's. (Both were written within
  // a few ms, perhaps in one tick of the file times' clock: then either could have been written last.)
  await utimes(path, before.atime, new Date(before.mtimeMs - 60_000))
  await assert.rejects(
    FileJournalStore.open(inner, dir),
    (e) => e instanceof RuntimeError && e.code === 'RT_ERR_JOURNAL_CORRUPT' && e.message.includes(first!),
  )
})

test('pruning drops whole spans once all their records are applied; an erasure rewrites a span it shares with a pending record', async () => {
  const { dir, inner } = await fresh()
  const now = Date.now()
  const j = await FileJournalStore.open(inner, dir)
  const old = record('old', 1, now - 3 * HOUR, [[1, 5]])
  const a = record('a', 2, now, [[2, 5]])
  const b = record('b', 3, now, [[3, 5]])
  const c = record('c', 4, now, [[4, 5]])
  for (const r of [old, a, b, c]) await j.commit(r)
  assert.equal((await segments(dir)).length, 2, 'one segment per hour of commits')
  await j.applied(old)
  await j.applied(a)
  await j.applied(c)
  await j.prune(now - HOUR)
  assert.equal((await segments(dir)).length, 1, "the old hour's segment went")
  assert.deepEqual(
    (await j.pending()).map((r) => r.id),
    ['b'],
  )

  // a and c are applied but share their span with b: an erasure cannot wait for it.
  assert.equal(await j.forgetApplied(), 2)
  const [left] = await segments(dir)
  assert.ok(!(await readFile(join(dir, left!))).includes('payload of a'), "a's payload is gone from the disk")
  await j.commit(record('d', 5, now, [[5, 5]]))
  await j.close()
  const again = await FileJournalStore.open(inner, dir)
  assert.deepEqual(
    (await again.pending()).map((r) => r.id),
    ['b', 'd'],
  )
  await again.applied(b)
  await again.applied(record('d', 5, now, [[5, 5]]))
  assert.equal(await again.forgetApplied(), 2)
  assert.deepEqual(await segments(dir), [])
  await again.close()
})

test("records still in the wrapped store's own journal stay pending until applied", async () => {
  const { dir, inner } = await fresh()
  const now = Date.now()
  await inner.commit(record('before', 1, now, [[1, 5]]))
  const j = await FileJournalStore.open(inner, dir)
  await j.commit(record('after', 2, now, [[2, 5]]))
  assert.deepEqual(
    (await j.pending()).map((r) => r.id),
    ['before', 'after'],
  )
  await j.applied(record('before', 1, now, [[1, 5]]))
  await j.applied(record('after', 2, now, [[2, 5]]))
  assert.equal(await j.forgetApplied(), 2)
  await j.close()
})
