import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { batch, click, heatmap, post, waitFor } from './helpers/events.ts'
import { exited, startProcess } from './helpers/process.ts'

const dirs: string[] = []
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const N = 600

async function sendN(url: string, siteKey: string): Promise<void> {
  const events = Array.from({ length: N }, (_, i) =>
    click('https://demo.example/restart', (i % 10) * 128, 64),
  )
  for (let i = 0; i < N; i += 50) {
    const r = await post(url, batch(siteKey, events.slice(i, i + 50)))
    assert.equal(r.status, 202, await r.text())
  }
}

describe('restarting the embedded platform keeps everything accepted', () => {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`${signal} after N accepted events, start again on the same data dir: totals are N`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hm-restart-'))
      dirs.push(dir)
      // A flush interval longer than the test: nothing reaches ClickHouse before the signal, so what is
      // found afterwards came through the shutdown flush (SIGTERM) or the transport's log (SIGKILL).
      const first = await startProcess(dir, { HM_FLUSH_INTERVAL_MS: '60000' })
      await sendN(first.url, first.creds.siteKey)
      first.child.kill(signal)
      const end = await exited(first.child)
      if (signal === 'SIGTERM') assert.equal(end.code, 0, first.output())
      else assert.equal(end.signal, 'SIGKILL')

      const second = await startProcess(dir, { HM_FLUSH_INTERVAL_MS: '100' })
      try {
        const { siteId, apiKey } = second.creds
        const h = await waitFor(
          () => heatmap(second.url, apiKey, siteId, { page: '/restart', type: 'click' }),
          (v) => v.total >= N,
        )
        await new Promise((r) => setTimeout(r, 500))
        const settled = await heatmap(second.url, apiKey, siteId, { page: '/restart', type: 'click' })
        assert.equal(h.total, N)
        assert.equal(settled.total, N, 'no double count after replay')
        assert.equal(settled.cells.length, 10)
        for (const [, y, n] of settled.cells) {
          assert.equal(y, 4)
          assert.equal(n, N / 10)
        }
      } finally {
        second.child.kill('SIGTERM')
        assert.equal((await exited(second.child)).code, 0, second.output())
      }
    })
  }
})
