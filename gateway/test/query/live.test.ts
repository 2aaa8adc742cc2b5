import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import type { Platform } from '../../src/index.ts'
import { waitFor } from '../helpers/events.ts'
import { startTestPlatform } from '../helpers/platform.ts'
import { type Api, api, DESKTOP_UA, send } from './client.ts'
import { connect, type LiveSocket } from './ws-client.ts'

let platform: Platform
let stop: (() => Promise<void>) | undefined
let q: Api
const screen = { vw: 1280, vh: 800, dw: 1280, dh: 3000 }
const click = (path: string, x: number, y: number, ts = Date.now()): WireEvent => ({
  type: 'click',
  ts,
  url: `https://shop.example${path}`,
  ...screen,
  x,
  y,
})
const range = () => ({ from: String(Date.now() - 3_600_000), to: String(Date.now() + 3_600_000) })

before(async () => {
  ;({ platform, stop } = await startTestPlatform({
    // Longer than the test: what a query sees before `flushNow` can only come from the actors.
    HM_FLUSH_INTERVAL_MS: '60000',
  }))
  q = api(platform.url, platform.demo!.apiKey, platform.demo!.siteId)
})
after(async () => {
  await stop?.()
})

type Cells = { total: number; live: boolean; cells: Array<[number, number, number]> }
const session = (id: string) => ({ id, ua: DESKTOP_UA, country: 'DE' })

describe('live answers', () => {
  test('the heatmap merges what the actors hold but have not flushed; never twice once flushed', async () => {
    const { siteKey } = platform.demo!
    await send(
      platform.url,
      siteKey,
      session('m1'),
      [0, 1, 2, 3, 4].map((i) => click('/merge', 640, 100, Date.now() - 5000 + i * 500)),
    )
    const params = { page: '/merge', type: 'click', ...range() }
    const h = await waitFor(
      () => q.get<Cells>('/heatmap', params),
      (v) => v.total >= 5,
    )
    assert.deepEqual([h.total, h.live, h.cells], [5, true, [[64, 6, 5]]])
    const stored = await q.get<Cells>('/heatmap', { ...params, live: 'false' })
    assert.deepEqual([stored.total, stored.live], [0, false], 'nothing flushed yet')
    await platform.runtime!.flushNow()
    const after = await q.get<Cells>('/heatmap', { ...params, live: 'false' })
    assert.equal(after.total, 5)
    assert.deepEqual((await q.get<Cells>('/heatmap', params)).cells, [[64, 6, 5]])
  })

  test('the WebSocket streams the page grid deltas of its type and the site activity', async () => {
    const { siteId, siteKey, apiKey } = platform.demo!
    const url = `${platform.url.replace('http', 'http')}/v1/sites/${siteId}/live?page=/ws&type=click`
    const up = await connect(url, { authorization: `Bearer ${apiKey}` })
    assert.ok(up.ok, up.ok ? '' : `${up.status} ${up.body}`)
    const ws: LiveSocket = up.socket
    try {
      const hello = await ws.next<{ kind: string; page: string; type: string }>((m) => m.kind === 'hello')
      assert.deepEqual([hello.page, hello.type], ['/ws', 'click'])
      // A second watcher of the same page, authorised the browser way.
      const up2 = await connect(`${url}&access_token=${apiKey}`)
      assert.ok(up2.ok)
      await up2.socket.next<{ kind: string }>((m) => m.kind === 'hello')
      await send(platform.url, siteKey, session('w1'), [
        click('/ws', 640, 100),
        click('/ws', 640, 100),
        click('/ws', 0, 0),
        { ...click('/ws', 5, 5), type: 'move', rest: 400 } as WireEvent,
        click('/elsewhere', 640, 100),
      ])
      const sum = new Map<string, number>()
      let total = 0
      while (total < 3) {
        const d = await ws.next<{ kind: string; cells: Array<[number, number, number]> }>(
          (m) => m.kind === 'delta' && !(m as { seen?: boolean }).seen,
        )
        ;(d as { seen?: boolean }).seen = true
        for (const [x, y, n] of d.cells) {
          sum.set(`${x},${y}`, (sum.get(`${x},${y}`) ?? 0) + n)
          total += n
        }
      }
      assert.deepEqual(Object.fromEntries(sum), { '64,6': 2, '0,0': 1 }, 'clicks of this page only')
      const other = await up2.socket.next<{ kind: string; cells: number[][] }>((m) => m.kind === 'delta')
      assert.ok(other.cells.length > 0)
      up2.socket.close()
      const site = await ws.next<{ kind: string; visitors: number; eventsPerSecond: number }>(
        (m) => m.kind === 'site' && m.visitors >= 1,
      )
      assert.equal(site.visitors, 1)
      assert.equal(site.eventsPerSecond, 0.5, '5 events over the 10 s window')
      // The first socket still gets deltas after the other one left.
      await send(platform.url, siteKey, session('w2'), [click('/ws', 1279, 2999)])
      await ws.next<{ kind: string; cells: number[][] }>(
        (m) => m.kind === 'delta' && m.cells.some(([x, y]) => x === 127 && y === 187),
      )
    } finally {
      ws.close()
    }
  })

  test('the live endpoint refuses missing keys, other sites and bad parameters: an error message, a 4xxx close', async () => {
    const { siteId, apiKey } = platform.demo!
    const base = `${platform.url}/v1/sites`
    const refused = async (url: string, headers: Record<string, string> = {}) => {
      const up = await connect(url, headers)
      assert.ok(up.ok)
      const m = await up.socket.next<{ kind: string; error: { code: string; message: string } }>(() => true)
      assert.equal(m.kind, 'error')
      return { code: m.error.code, message: m.error.message, close: await up.socket.closed }
    }
    const noKey = await refused(`${base}/${siteId}/live?page=/`)
    assert.deepEqual([noKey.code, noKey.close], ['HM_ERR_AUTH_MISSING', 4401])
    const badKey = await refused(
      `${base}/${siteId}/live?page=/&access_token=hm_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`,
    )
    assert.deepEqual([badKey.code, badKey.close], ['HM_ERR_AUTH_BAD_KEY', 4401])
    const other = await refused(`${base}/00000000-0000-4000-8000-000000000000/live?page=/`, {
      authorization: `Bearer ${apiKey}`,
    })
    assert.deepEqual([other.code, other.close], ['HM_ERR_QUERY_NOT_FOUND', 4404])
    const bad = await refused(`${base}/${siteId}/live?page=/&type=nope`, {
      authorization: `Bearer ${apiKey}`,
    })
    assert.deepEqual([bad.code, bad.close], ['HM_ERR_QUERY_BAD_PARAM', 4400])
    assert.match(bad.message, /type/)
  })
})
