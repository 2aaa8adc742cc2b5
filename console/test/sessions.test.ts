/**
 * The sessions pages end to end, in headless Chromium against the real platform: a scripted session
 * (page view, moves, clicks with a rage burst and a dead click, a scroll) is listed with its counts and
 * found or hidden by the filters; its page shows the summary numbers and replays the cursor (it moves
 * when played; the rage burst is marked on the track and drawn as a ripple). A viewer, whose role lacks
 * `sessions:read`, sees no Sessions entry and is told why when opening the list by address.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Page } from 'playwright-core'
import { checkoutVisit } from './helpers/checkout-visit.ts'
import { type ConsoleHarness, startConsoleHarness, until } from './helpers/platform.ts'

let h: ConsoleHarness
const SESSION = 'replay-1'
/** One visitor's scripted minute on the checkout, begun a minute ago (its counts are in the helper's comment). */
const script = checkoutVisit(Date.now() - 60_000)

interface Summary {
  pageviews: number
  clicks: number
  rage: number
  rageClicks: number
  dead: number
  events: number
  durationMs: number
  entryPage: string
  pages: Array<{ page: string; maxScrollPx: number }>
}

const cursorAt = async (page: Page) => {
  const c = page.getByTestId('replay-cursor')
  if ((await c.count()) === 0) return undefined
  const box = await c.boundingBox()
  return box === null ? undefined : { x: Math.round(box.x), y: Math.round(box.y) }
}

let summary: Summary

before(async () => {
  h = await startConsoleHarness()
  await h.send(SESSION, script)
  await h.platform.runtime!.flushNow()
  const { siteId, apiKey } = h.platform.demo!
  // The summary holding every posted event (a live session's summary is written as it goes).
  summary = await until(
    async () => {
      const r = await fetch(`${h.platform.url}/v1/sites/${siteId}/sessions/${SESSION}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      })
      return r.status === 200 ? ((await r.json()) as { session: Summary | null }).session : null
    },
    (s) => s !== null && s.events === script.length,
    30_000,
  ).then((s) => s!)
})

after(async () => {
  await h?.stop()
})

describe('sessions', { timeout: 180_000 }, () => {
  test('the API summary is the scripted session', () => {
    assert.deepEqual(
      [summary.pageviews, summary.clicks, summary.rage, summary.rageClicks, summary.dead, summary.durationMs],
      [1, 4, 1, 3, 1, 8000],
    )
    assert.deepEqual(
      summary.pages.map((p) => [p.page, p.maxScrollPx]),
      [['/checkout', 1600]],
    )
  })

  test('an owner lists the sessions, filters them, opens one and replays it', async () => {
    const page = await (await h.context()).newPage()
    await h.signIn(page)
    // The only site: the navigation's entry goes straight to its sessions.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sessions' }).click()
    await page.waitForURL(new RegExp(`/console/sites/${h.platform.demo!.siteId}/sessions$`))

    const row = page.locator(`[data-testid="session-row"][data-session="${SESSION}"]`)
    await row.waitFor()
    const cell = async (col: string) => (await row.locator(`[data-col="${col}"]`).textContent())?.trim()
    assert.deepEqual(
      [await cell('pageviews'), await cell('clicks'), await cell('rage'), await cell('dead')],
      ['1', '4', '1', '1'],
    )
    assert.match((await row.textContent()) ?? '', /\/checkout/)
    assert.match((await row.textContent()) ?? '', /8 s/)
    await h.screenshot(page, 'sessions-list')

    // Filters narrow the list on the gateway: no session without rage clicks, this one with them.
    await page.locator('select[name="rage"]').selectOption('false')
    await page.waitForURL(/rage=false/)
    await page.getByText('No sessions match these filters').waitFor()
    await page.locator('select[name="rage"]').selectOption('true')
    await row.waitFor()
    assert.equal(await page.getByTestId('session-row').count(), 1)

    await row.getByRole('link').click()
    await page.waitForURL(new RegExp(`/sessions/${SESSION}$`))
    const stat = async (name: string) =>
      (await page.locator(`[data-stat="${name}"] dd`).textContent())?.trim()
    await page.locator('[data-stat="clicks"]').waitFor()
    assert.deepEqual(
      [
        await stat('duration'),
        await stat('pageviews'),
        await stat('clicks'),
        await stat('rage'),
        await stat('rageClicks'),
        await stat('dead'),
      ],
      ['8 s', '1', '4', '1', '3', '1'],
    )
    assert.equal(await page.getByTestId('entry-page').textContent(), '/checkout')
    assert.match((await page.getByTestId('session-page').textContent()) ?? '', /1600 px \(53 %\)/)
    assert.match((await page.locator('.settings').textContent()) ?? '', /search\.example/)

    // Frustration on the slider's track: one rage burst, one dead click.
    assert.equal(await page.getByTestId('replay-marker-rage').count(), 1)
    assert.equal(await page.getByTestId('replay-marker-dead').count(), 1)

    // Played, the cursor appears at the first move and then travels.
    await page.getByRole('button', { name: 'Play' }).click()
    const first = await until(
      () => cursorAt(page),
      (c) => c !== undefined,
    )
    await until(
      () => cursorAt(page),
      (c) => c !== undefined && (c.x !== first!.x || c.y !== first!.y),
    )
    await page.getByRole('button', { name: 'Pause' }).click()

    // Seeking to the rage burst from its marker draws it as a rage ripple, the cursor on the spot.
    await page.getByTestId('replay-marker-rage').click()
    await page.getByTestId('replay-ripple-rage').waitFor()
    const cursor = page.getByTestId('replay-cursor')
    assert.deepEqual(
      [await cursor.getAttribute('data-x'), await cursor.getAttribute('data-y')],
      ['640', '700'],
    )
    await h.screenshot(page, 'session-replay')
    assert.deepEqual(h.pageErrors, [])
    await page.context().close()
  })

  test('a viewer has no Sessions entry and is told which permission the list needs', async () => {
    const viewer = { email: 'vic@shop.example', password: 'viewer-password-1', name: 'Vic Viewer' }
    const token = await h.ownerToken()
    const inv = await fetch(`${h.platform.url}/v1/invitations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ email: viewer.email, role: 'viewer' }),
    })
    assert.equal(inv.status, 201, await inv.clone().text())
    const accepted = await fetch(`${h.platform.url}/v1/invitations/accept`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: ((await inv.json()) as { token: string }).token,
        password: viewer.password,
        name: viewer.name,
      }),
    })
    assert.equal(accepted.status, 200, await accepted.text())

    const page = await (await h.context()).newPage()
    await h.signIn(page, viewer)
    const nav = page.getByRole('navigation', { name: 'Main' })
    await nav.getByRole('link', { name: 'Sites' }).waitFor()
    assert.equal(await nav.getByRole('link', { name: 'Sessions' }).count(), 0)
    await page.goto(`${h.platform.url}/console/sites/${h.platform.demo!.siteId}/sessions`)
    await page.getByRole('heading', { name: 'Not available to your role' }).waitFor()
    assert.match((await page.locator('.forbidden').textContent()) ?? '', /sessions:read/)
    await page.context().close()
  })
})
