import assert from 'node:assert/strict'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, describe, test } from 'node:test'
import { IngestBatch, type WireEvent } from '@hm/actors'
import { Value } from '@sinclair/typebox/value'
import { DEMO_WIDTH, type DemoPage, demoPageByPath, demoPages } from '../../src/demo/site.ts'
import { type PlannedVisit, planVisit, seededRandom, startTraffic } from '../../src/demo/traffic.ts'

const END = Date.UTC(2025, 5, 1, 12)

function plan(seed: number, visits: number): PlannedVisit[] {
  const random = seededRandom(seed)
  return Array.from({ length: visits }, () =>
    planVisit(random, demoPages, { siteKey: 'demo_site', origin: 'http://demo.test:8080', endAt: END }),
  )
}

function pageOf(e: WireEvent): DemoPage {
  const page = demoPageByPath(new URL(e.url).pathname)
  assert.ok(page, `event for an unknown page ${e.url}`)
  return page
}

/** Page views of a visit, in order: each a pageview and the events that follow it. */
function pageViews(visit: PlannedVisit): WireEvent[][] {
  const views: WireEvent[][] = []
  for (const batch of visit.batches) {
    for (const e of batch.events) {
      if (e.type === 'pageview') views.push([])
      views.at(-1)!.push(e)
    }
  }
  return views
}

describe('planVisit', () => {
  const visits = plan(1, 2000)

  test('every planned batch matches the ingest schema, with fresh batch ids and past timestamps', () => {
    const ids = new Set<string>()
    for (const visit of visits) {
      for (const batch of visit.batches) {
        if (!Value.Check(IngestBatch, batch)) {
          const errors = [...Value.Errors(IngestBatch, batch)].slice(0, 3)
          assert.fail(`invalid batch: ${JSON.stringify(errors.map((e) => `${e.path}: ${e.message}`))}`)
        }
        assert.match(batch.batchId, /^[A-Za-z0-9_-]{16,}$/)
        assert.ok(!ids.has(batch.batchId), 'batch ids are unique')
        ids.add(batch.batchId)
        assert.equal(batch.visitorId, visit.visitorId)
        assert.equal(batch.sessionId, visit.sessionId)
        for (const e of batch.events) assert.ok(e.ts <= END, 'no event is in the future')
      }
      const ts = visit.batches.flatMap((b) => b.events.map((e) => e.ts))
      assert.deepEqual(
        ts,
        [...ts].sort((a, b) => a - b),
        'events are in time order',
      )
      assert.ok(visit.paths.length >= 1 && visit.paths.length <= 5)
      assert.equal(pageViews(visit).length, visit.paths.length)
    }
  })

  test('the same seed plans the same visits', () => {
    assert.deepEqual(plan(7, 20), plan(7, 20))
    assert.notDeepEqual(plan(7, 20), plan(8, 20))
  })

  test('clicks fall inside the box of the element they name, mapped back to the 1280 px layout', () => {
    let clicks = 0
    for (const visit of visits) {
      for (const e of visit.batches.flatMap((b) => b.events)) {
        if (e.type !== 'click') continue
        clicks++
        const page = pageOf(e)
        const el = page.elements.find((x) => x.selector === e.selector)
        assert.ok(el, `${e.selector} is an element of ${page.path}`)
        assert.ok(!el.private, 'no click on a data-hm-ignore element')
        // One document pixel of rounding, expressed in layout pixels.
        const tolX = DEMO_WIDTH / e.dw
        const tolY = 1 + page.height / e.dh
        const x = (e.x * DEMO_WIDTH) / e.dw
        const y = (e.y * page.height) / e.dh
        assert.ok(x >= el.x - tolX && x <= el.x + el.w + tolX, `x ${x} in ${el.id} [${el.x}, ${el.x + el.w}]`)
        assert.ok(y >= el.y - tolY && y <= el.y + el.h + tolY, `y ${y} in ${el.id} [${el.y}, ${el.y + el.h}]`)
        assert.ok(Math.abs(el.x + e.ox! * el.w - x) <= tolX + 1, 'ox agrees with x')
        assert.ok(Math.abs(el.y + e.oy! * el.h - y) <= tolY + 1, 'oy agrees with y')
      }
    }
    assert.ok(clicks > 1000, `enough clicks to mean something (${clicks})`)
  })

  test('moves are rested cursors inside the document, on desktop only', () => {
    for (const visit of visits) {
      for (const e of visit.batches.flatMap((b) => b.events)) {
        if (e.type !== 'move') continue
        assert.equal(visit.device, 'desktop')
        assert.ok(e.rest >= 300, 'a rest lasts at least 300 ms')
        assert.ok(e.x >= 0 && e.x < e.dw && e.y >= 0 && e.y < e.dh)
      }
    }
  })

  test('scroll depth stays within the document; most page views reach the fold, fewer the bottom', () => {
    let views = 0
    let fold = 0
    let half = 0
    let bottom = 0
    for (const visit of visits) {
      for (const view of pageViews(visit)) {
        views++
        let depth = 0
        for (const e of view) {
          if (e.type !== 'scroll') continue
          assert.ok(e.depth <= e.dh, `depth ${e.depth} within document height ${e.dh}`)
          assert.ok(e.depth >= depth, 'reported depth only grows within a page view')
          depth = e.depth
        }
        const { vh, dh } = view[0]!
        if (depth >= Math.min(vh, dh)) fold++
        if (depth >= dh / 2) half++
        if (depth >= dh - 1) bottom++
      }
    }
    assert.ok(fold >= 0.9 * views, `most reach the fold (${fold} of ${views})`)
    assert.ok(half < fold && bottom < half, `fewer go deeper (fold ${fold}, half ${half}, bottom ${bottom})`)
    assert.ok(bottom > 0.05 * views, `some reach the bottom (${bottom} of ${views})`)
  })

  test('the device mix is mostly desktop, then mobile, then tablet; mobile documents are taller', () => {
    const count = { desktop: 0, tablet: 0, mobile: 0 }
    for (const visit of visits) count[visit.device]++
    assert.ok(
      count.desktop > count.mobile && count.mobile > count.tablet && count.tablet > 0,
      JSON.stringify(count),
    )
    const first = visits.find((v) => v.device === 'mobile')!.batches[0]!.events[0]!
    assert.ok(first.vw >= 360 && first.vw <= 414)
    assert.ok(first.dh > pageOf(first).height, 'a phone reflows the page into a taller document')
  })

  test('visits start mostly on the home page and follow links between real pages', () => {
    const home = visits.filter((v) => v.paths[0] === '/demo/').length
    assert.ok(home > visits.length / 2, `${home} of ${visits.length} start at home`)
    assert.ok(visits.some((v) => v.paths.length >= 3))
    for (const visit of visits) {
      for (const [i, view] of pageViews(visit).entries()) {
        if (i === 0) continue
        const previous = pageViews(visit)[i - 1]!
        const last = previous.at(-1)!
        assert.equal(last.type, 'click', 'a page view that leads on ends with a click on a link')
        const link = pageOf(last).elements.find(
          (e) => e.selector === (last as { selector?: string }).selector,
        )
        assert.equal(demoPageByPath(link?.href ?? '')?.path, visit.paths[i])
        assert.equal(view[0]!.type === 'pageview' && view[0]!.referrer, last.url)
      }
    }
  })

  test('on pages with a dominant element, the most weighted element gets the most clicks', () => {
    const clicks = new Map<string, number>()
    for (const visit of visits) {
      for (const e of visit.batches.flatMap((b) => b.events)) {
        if (e.type === 'click') {
          const key = `${pageOf(e).path} ${e.selector}`
          clicks.set(key, (clicks.get(key) ?? 0) + 1)
        }
      }
    }
    for (const path of ['/demo/', '/demo/pricing']) {
      const page = demoPageByPath(path)!
      const [top, second] = [...page.elements].sort((a, b) => b.weight - a.weight)
      assert.ok(top!.weight >= 2 * second!.weight, `${path} has a dominant element`)
      const counts = page.elements.map((e) => [e.id, clicks.get(`${path} ${e.selector}`) ?? 0] as const)
      const most = counts.reduce((a, b) => (b[1] > a[1] ? b : a))
      assert.equal(most[0], top!.id, `${path}: ${JSON.stringify(counts.filter(([, n]) => n > 50))}`)
    }
  })
})

interface Received {
  batch: IngestBatch
  origin: string | undefined
}

async function server(answer: (batch: IngestBatch, req: IncomingMessage, res: ServerResponse) => void) {
  const received: Received[] = []
  const s = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c
    })
    req.on('end', () => {
      const batch = JSON.parse(body) as IngestBatch
      received.push({ batch, origin: req.headers.origin })
      answer(batch, req, res)
    })
  })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const baseUrl = `http://127.0.0.1:${(s.address() as AddressInfo).port}`
  after(() => new Promise<void>((resolve) => s.close(() => resolve())))
  return { baseUrl, received }
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('startTraffic', () => {
  test('posts valid batches over HTTP, retries a 503 with the same batch id, and stops cleanly', async () => {
    let refused: string | undefined
    const { baseUrl, received } = await server((batch, req, res) => {
      assert.equal(req.url, '/v1/events/collect')
      if (refused === undefined) {
        refused = batch.batchId
        res.writeHead(503, { 'retry-after': '0' }).end('{"error":{"code":"HM_ERR_UNAVAILABLE"}}')
        return
      }
      const ok = Value.Check(IngestBatch, batch)
      res.writeHead(ok ? 202 : 400, { 'content-type': 'application/json' }).end('{}')
    })
    const errors: unknown[] = []
    const traffic = startTraffic({
      baseUrl,
      siteKey: 'demo_site',
      visitorsPerMinute: 3000,
      random: seededRandom(3),
      onError: (e) => errors.push(e),
    })
    await wait(1000)
    await traffic.stop()
    const stats = traffic.stats()
    const afterStop = received.length
    await wait(300)
    assert.equal(received.length, afterStop, 'nothing is posted after stop() resolved')

    assert.deepEqual(errors, [])
    assert.equal(stats.failures, 0)
    assert.ok(stats.visitors >= 20, `visitors arrived at about the rate asked (${stats.visitors})`)
    assert.equal(stats.batches, received.length - 1, 'every post but the refused one was accepted')
    assert.equal(
      stats.events,
      received.slice(1).reduce((n, r) => n + r.batch.events.length, 0),
    )
    assert.equal(
      received.filter((r) => r.batch.batchId === refused).length,
      2,
      'the refused batch was retried',
    )
    assert.ok(
      received.every((r) => r.origin === baseUrl),
      'posts carry the demo site origin',
    )
  })

  test('keeps at most maxInFlight visitors and reports refused batches', async () => {
    let open = 0
    let peak = 0
    const { baseUrl } = await server((_batch, _req, res) => {
      open++
      peak = Math.max(peak, open)
      setTimeout(() => {
        open--
        res.writeHead(400).end('{"error":{"code":"HM_ERR_INGEST_BAD_BATCH"}}')
      }, 50)
    })
    const errors: unknown[] = []
    const traffic = startTraffic({
      baseUrl,
      siteKey: 'demo_site',
      visitorsPerMinute: 60_000,
      maxInFlight: 2,
      random: seededRandom(4),
      onError: (e) => errors.push(e),
    })
    await wait(400)
    await traffic.stop()
    const stats = traffic.stats()
    assert.ok(peak <= 2, `at most two posts at once (${peak})`)
    assert.ok(stats.skipped > 0, 'arrivals beyond maxInFlight are skipped')
    assert.equal(stats.batches, 0)
    assert.ok(stats.failures > 0 && stats.failures === errors.length)
    assert.match(String(errors[0]), /400/)
  })

  test('rejects a rate that is not positive', () => {
    assert.throws(() =>
      startTraffic({ baseUrl: 'http://127.0.0.1:1', siteKey: 'demo_site', visitorsPerMinute: 0 }),
    )
  })
})
