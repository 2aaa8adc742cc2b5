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
