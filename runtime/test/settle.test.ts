import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { settleAll } from '../src/index.ts'

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('settleAll', () => {
  test('runs at most `limit` tasks at a time and every task once', async () => {
    let running = 0
    let most = 0
    const ran: number[] = []
    await settleAll(
      Array.from({ length: 7 }, (_, i) => async () => {
        running++
        most = Math.max(most, running)
        await tick(5)
        ran.push(i)
        running--
      }),
      2,
    )
    assert.equal(most, 2)
    assert.deepEqual([...ran].sort(), [0, 1, 2, 3, 4, 5, 6])
  })

  test('a failure rejects only once every task has settled, with the first failure in task order', async () => {
    const done: number[] = []
    const run = settleAll(
      [
        async () => {
          await tick(20)
          done.push(0)
        },
        async () => {
          await tick(10)
          throw new Error('second')
        },
        async () => {
          throw new Error('third')
        },
      ],
      3,
    )
    await assert.rejects(run, /second/)
    assert.deepEqual(done, [0], 'the slow task finished before the rejection')
  })

  test('no tasks: resolves', async () => {
    await settleAll([], 4)
  })
})
