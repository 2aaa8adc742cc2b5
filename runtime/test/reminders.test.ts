import assert from 'node:assert/strict'
import { afterEach, beforeEach, mock, test } from 'node:test'
import { ReminderSchedule } from '../src/host/reminders.ts'
import type { ReminderRecord } from '../src/store.ts'

let now = 0
let fired: string[] = []
let schedule: ReminderSchedule
const at = (key: string, when: number | null, shard = 1): ReminderRecord => ({
  type: 'session',
  key,
  name: 'end',
  shard,
  at: when,
  message: new Uint8Array([1]),
})
const advance = (ms: number): void => {
  now += ms
  mock.timers.tick(ms)
}

beforeEach(() => {
  mock.timers.enable({ apis: ['setTimeout'] })
  now = 0
  fired = []
  schedule = new ReminderSchedule(
    (r) => fired.push(`${r.key}@${now}`),
    () => now,
  )
})
afterEach(() => mock.timers.reset())

test('a reminder fires once, at its time, and its cancellation is kept for the store', () => {
  schedule.set(at('a', 100))
  advance(99)
  assert.deepEqual(fired, [])
  advance(1)
  assert.deepEqual(fired, ['a@100'])
  advance(1000)
  assert.deepEqual(fired, ['a@100'])
  assert.deepEqual(
    schedule.takeFired().map((r) => [r.key, r.at]),
    [['a', null]],
  )
  assert.equal(schedule.size, 0)
})

test('set again for later it fires at the later time only; for earlier, at the earlier only', () => {
  schedule.set(at('later', 100))
  schedule.set(at('sooner', 300))
  advance(50)
  schedule.set(at('later', 250))
  schedule.set(at('sooner', 120))
  advance(100)
  assert.deepEqual(fired, ['sooner@150'])
  advance(100)
  assert.deepEqual(fired, ['sooner@150', 'later@250'])
  advance(1000)
  assert.equal(fired.length, 2)
})

test('a cancelled reminder, or one of a shard given up, never fires', () => {
  schedule.set(at('a', 100))
  schedule.set(at('b', 100, 2))
  schedule.set(at('c', 100, 3))
  schedule.set(at('a', null))
  schedule.dropShard(2)
  assert.equal(schedule.size, 1)
  advance(100)
  advance(400)
  assert.deepEqual(fired, ['c@100'])
})

test('many reminders, set, moved and cancelled in any order, each fire once at its latest time', () => {
  // A reference model beside the schedule: each key's latest time and shard.
  let seed = 7
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  const want = new Map<string, { t: number; shard: number }>()
  let seen = 0
  for (let step = 0; step < 200; step++) {
    for (let i = 0; i < 20; i++) {
      const key = `k${rnd(300)}`
      const when = rnd(10) === 0 ? null : now + 1 + rnd(2000)
      const shard = 1 + rnd(3)
      schedule.set(at(key, when, shard))
      if (when === null) want.delete(key)
      else want.set(key, { t: when, shard })
    }
    if (step % 50 === 49) {
      schedule.dropShard(2)
      for (const [key, w] of [...want]) if (w.shard === 2) want.delete(key)
    }
    assert.equal(schedule.size, want.size)
    const to = now + rnd(40)
    const due = [...want].filter(([, w]) => w.t <= to)
    advance(to - now)
    for (const [key] of due) want.delete(key)
    assert.deepEqual(fired.slice(seen).sort(), due.map(([key]) => `${key}@${now}`).sort())
    seen = fired.length
  }
  advance(5000)
  assert.equal(fired.length, seen + want.size)
  assert.equal(schedule.size, 0)
})
