/**
 * The console end to end, in headless Chromium against the real platform: sign in through the page,
 * open the heatmap of seeded traffic and read the canvas by pixels (hot cells hot, cold cells cold,
 * hover counts); live mode redraws on new events (its latency printed); the access token is renewed before
 * it expires; an owner invites a viewer, who joins through the mailed link, sees no admin page and is
 * told why when opening one by address; the organisation switcher and signing out end the sign-ins they
 * leave; the console as its own service passes the API and the live socket on.
 */
import assert from 'node:assert/strict'
import { get as httpGet } from 'node:http'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import type { Page } from 'playwright-core'
// One PNG decoder for the product's tests: the export renderer's (actors) and the canvas screenshots here.
import { decodePng } from '../../actors/test/helpers/png.ts'
import { startConsoleServer } from '../server.ts'
import { type ConsoleHarness, startConsoleHarness, submitSignIn, until } from './helpers/platform.ts'

let h: ConsoleHarness
const PAGE = '/shop'
const screen = { vw: 1280, vh: 800, dw: 1280, dh: 3000 }
const URL_OF = (path: string) => `https://shop.example${path}`
/** Document pixel of the middle of a cell (128 columns across 1280 px, 16 px bands). */
const HOT = { x: 320, y: 400, cell: [32, 25] as const }
const WARM = { x: 960, y: 168, cell: [96, 10] as const }
const COLD = { cell: [110, 37] as const }
const LIVE = { x: 1000, y: 480, cell: [100, 30] as const }

const click = (x: number, y: number, ts: number): WireEvent => ({
  type: 'click',
  ts,
  url: URL_OF(PAGE),
  ...screen,
  x,
  y,
})
const pageview = (ts: number): WireEvent => ({ type: 'pageview', ts, url: URL_OF(PAGE), ...screen })

/** Sends `n` clicks at a point, from sessions of a few clicks a second apart (a person's pace). */
async function clicks(prefix: string, n: number, x: number, y: number): Promise<void> {
  const now = Date.now()
  const perSession = 5
  const sends: Array<Promise<void>> = []
  for (let s = 0; s * perSession < n; s++) {
    const k = Math.min(perSession, n - s * perSession)
    const events = [
      pageview(now - 30_000),
      ...Array.from({ length: k }, (_, i) => click(x, y, now - 20_000 + i * 1000)),
    ]
    sends.push(h.send(`${prefix}-${s}`, events))
  }
  await Promise.all(sends)
}

type Rgb = [number, number, number]
const isGrey = ([r, g, b]: Rgb) => Math.max(r, g, b) - Math.min(r, g, b) < 16
const isRed = ([r, g, b]: Rgb) => r > 200 && g < 130 && b < 130

interface Canvas {
  /** Colour on screen at the middle of a cell. */
  at(cell: readonly [number, number]): Rgb
  /** The cell's middle in page CSS px. */
  point(cell: readonly [number, number]): { x: number; y: number }
}

/** Screenshots the heatmap canvas (what the user sees: heatmap over the page) and reads cells off it. */
async function readCanvas(page: Page): Promise<Canvas> {
  const canvas = page.getByTestId('heatmap-canvas')
  const box = await canvas.boundingBox()
  assert.ok(box !== null && box.width > 100, 'the canvas is laid out')
  // The document (1280 px wide for all viewports) is scaled to the canvas width, not scrolled.
  const scale = box.width / 1280
  const local = ([cx, cy]: readonly [number, number]) => ({
    x: Math.round(((cx + 0.5) / 128) * box.width),
    y: Math.round((cy + 0.5) * 16 * scale),
  })
  const png = decodePng(await canvas.screenshot())
  return {
    at(cell) {
      const p = local(cell)
      const [r, g, b] = png.pixel(p.x, p.y)
      return [r, g, b]
    },
    point(cell) {
      const p = local(cell)
      return { x: box.x + p.x, y: box.y + p.y }
    },
  }
}

/** GET with the path exactly as given, dots and escapes untouched: the answer's body. */
function rawGet(origin: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const u = new URL(origin)
    const req = httpGet({ host: u.hostname, port: u.port, path }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve(body))
    })
    req.on('error', reject)
  })
}

before(async () => {
  // Short-lived access tokens, so the console must renew them while the tests run.
  h = await startConsoleHarness({ HM_ACCESS_TOKEN_TTL_S: '30' })
  await clicks('hot', 30, HOT.x, HOT.y)
  await clicks('warm', 3, WARM.x, WARM.y)
  // Everything applied (the query API merges what is not flushed yet).
  const { siteId, apiKey } = h.platform.demo!
  await until(
    async () => {
      const r = await fetch(`${h.platform.url}/v1/sites/${siteId}/heatmap?page=${PAGE}&type=click`, {
        headers: { authorization: `Bearer ${apiKey}` },
      })
      return ((await r.json()) as { total: number }).total
    },
    (total) => total === 33,
  )
})

after(async () => {
  await h?.stop()
})

describe('the heatmap viewer', { timeout: 180_000 }, () => {
  let page: Page

  before(async () => {
    page = await (await h.context()).newPage()
  })

  test('/ and /console lead to the sign-in page; signing in opens the sites', async () => {
    await page.goto(`${h.platform.url}/console`)
    await page.waitForURL(/\/console\/login/)
    await submitSignIn(page, { ...h.platform.demo!, password: 'not the password' })
    await page
      .getByRole('alert')
      .filter({ hasText: /password/i })
      .waitFor()
    await submitSignIn(page, h.platform.demo!)
    await page.waitForURL(/\/console\/sites$/)
    await page.getByRole('row', { name: /Demo site/ }).waitFor()
    // An owner sees every section.
    const nav = page.getByRole('navigation', { name: 'Main' })
    for (const name of ['Sites', 'Members', 'Privacy', 'Audit log'])
      assert.equal(await nav.getByRole('link', { name }).count(), 1, name)
    await h.screenshot(page, 'sites-owner')
  })

  test('adds a site and shows its snippet; saves settings; the audit log records both', async () => {
    await page.getByLabel('Name').fill('Second shop')
    await page.getByLabel('Domain').fill('second.example')
    await page.getByRole('button', { name: 'Add site' }).click()
    await page.waitForURL(/\/console\/sites\/[0-9a-f-]{36}$/)
    const siteId = page.url().split('/').at(-1)!
    const token = await h.ownerToken()
    const site = (await (
      await fetch(`${h.platform.url}/v1/sites/${siteId}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { siteKey: string; retentionDays: number }
    assert.equal(
      await page.getByLabel('SDK snippet').inputValue(),
      `<script src="${h.platform.url}/sdk/hm.js" data-site="${site.siteKey}" defer></script>`,
    )
    await page.getByLabel(/^Keep data for/).fill('200')
    await page.getByRole('button', { name: 'Save settings' }).click()
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
    const saved = (await (
      await fetch(`${h.platform.url}/v1/sites/${siteId}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { retentionDays: number }
    assert.equal(saved.retentionDays, 200)
    await h.screenshot(page, 'site-settings')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click()
    for (const action of ['website.create', 'website.update', 'auth.login'])
      await page.getByRole('cell', { name: action, exact: true }).first().waitFor()
    await h.screenshot(page, 'audit-owner')
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sites' }).click()
  })

  test('opens the heatmap of seeded traffic: hot cells hot, cold cells cold, counts on hover', async () => {
    await page.getByRole('link', { name: 'Heatmaps of Demo site' }).click()
    await page.waitForURL(/\/heatmap/)
    await page.getByRole('button', { name: new RegExp(PAGE) }).waitFor()
    await until(
      () => page.getByTestId('heatmap-total').textContent(),
      (t) => t?.replace(/\s+/g, ' ').trim() === '33 clicks',
    )
    const c = await until(
      () => readCanvas(page),
      (c) => isRed(c.at(HOT.cell)),
      10_000,
    )
    const warm = c.at(WARM.cell)
    assert.ok(!isGrey(warm) && !isRed(warm), `a cell with a tenth of the peak is coloured, not hot: ${warm}`)
    assert.ok(isGrey(c.at(COLD.cell)), `a cell without clicks shows the page: ${c.at(COLD.cell)}`)
    // The legend's scale reads real counts: the hottest colour is the hot cell's 30 clicks.
    assert.match((await page.locator('.legend figcaption').textContent()) ?? '', /30/)
    const p = c.point(HOT.cell)
    await page.mouse.move(p.x, p.y)
    assert.equal(await page.getByTestId('heatmap-hover').textContent(), '30 clicks')
    const w = c.point(WARM.cell)
    await page.mouse.move(w.x, w.y)
    assert.equal(await page.getByTestId('heatmap-hover').textContent(), '3 clicks')
    await h.screenshot(page, 'heatmap-seeded')
  })

  // The latency is printed, not asserted: a test holds no timing (a busy CI machine is not a benchmark).
  // `npm run bench -- live` measures event → WebSocket delta; the delta → canvas step is one frame.
  test('live mode: new clicks show on the canvas while the page is open', async () => {
    await page.getByLabel('Live').check()
    await until(
      () => page.getByTestId('live-status').getAttribute('data-state'),
      (s) => s === 'live',
    )
    // The stream's first answer re-reads the map; wait for that read to land on the seeded counts (a
    // delta arriving while a read is under way is left to the read).
    await until(
      async () => {
        const total = page.getByTestId('heatmap-total')
        return `${await total.getAttribute('data-loading')} ${await total.textContent()}`
      },
      (t) => t.startsWith('false 33'),
    )
    assert.ok(isGrey((await readCanvas(page)).at(LIVE.cell)), 'the spot is cold before')
    await clicks('live', 20, LIVE.x, LIVE.y)
    const sent = Date.now()
    const c = await until(
      () => readCanvas(page),
      (c) => !isGrey(c.at(LIVE.cell)),
      30_000,
    )
    console.log(`live: the canvas changed ${Date.now() - sent} ms after the events were accepted`)
    assert.ok(isRed(c.at(HOT.cell)), 'the hot cell stays hot')
    await until(
      () => page.getByTestId('heatmap-total').textContent(),
      (t) => t?.startsWith('53') === true,
    )
    // The site's live visitors (the sessions that just sent) and their events per second.
    await until(
      () => page.getByTestId('live-status').textContent(),
      (t) => /[1-9]\d* visitors?/.test(t ?? '') && !/ 0\.0 events\/s/.test(t ?? ''),
    )
    await h.screenshot(page, 'heatmap-live')
  })

  test('the access token is renewed before it expires, and the console keeps working past its expiry', async () => {
    const session = () =>
      page.evaluate(
        () =>
          JSON.parse(localStorage.getItem('hm.console.session') ?? 'null') as {
            accessToken: string
            expiresAt: number
          } | null,
      )
    const first = await session()
    assert.ok(first !== null)
    const renewed = await until(session, (s) => s !== null && s.accessToken !== first.accessToken, 35_000)
    assert.ok(Date.now() < first.expiresAt, 'renewed before the old token expired')
    assert.ok(renewed!.expiresAt > first.expiresAt)
    // Past the first token's life: pages still load (with the renewed token).
    await until(
      () => Date.now(),
      (t) => t > first.expiresAt + 500,
      15_000,
    )
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Members' }).click()
    await page.getByRole('cell', { name: h.platform.demo!.email }).waitFor()
    const old = await fetch(`${h.platform.url}/v1/me`, {
      headers: { authorization: `Bearer ${first.accessToken}` },
    })
    assert.equal(old.status, 401, 'the first token has expired')
  })

  test('privacy: exports what is stored about a visitor, then deletes it everywhere', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Privacy' }).click()
    await page.getByLabel('Site').selectOption({ label: 'Demo site' })
    await page.getByLabel('Visitor id').fill('v-warm-0')
    await page.getByRole('button', { name: 'Export' }).click()
    const exported = await page.getByTestId('export-counts').textContent()
    assert.match(exported ?? '', /events: [1-9]\d* rows?/, "the visitor's raw events are in the export")
    page.once('dialog', (d) => void d.accept())
    await page.getByRole('button', { name: 'Delete everywhere' }).click()
    await until(
      () => page.getByTestId('deletion-status').textContent(),
      (s) => s === 'done',
    )
    await h.screenshot(page, 'privacy-deleted')
    await page.getByRole('button', { name: 'Export' }).click()
    await until(
      () => page.getByTestId('export-counts').textContent(),
      (t) => !/[1-9]\d* rows?/.test(t ?? ''),
    )
  })
})

describe('roles and organisations', { timeout: 180_000 }, () => {
  const viewer = { email: 'val@shop.example', password: 'viewer-password-1', name: 'Val Viewer' }
  let invitationLink: string

  before(async () => {
    // Val has an account already, owning an organisation of her own.
    const r = await fetch(`${h.platform.url}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...viewer, organization: "Val's shop" }),
    })
    assert.equal(r.status, 201, await r.text())
  })

  test('an owner invites a viewer from the members page', async () => {
    const page = await (await h.context()).newPage()
    await page.goto(`${h.platform.url}/console/members`)
    await submitSignIn(page, h.platform.demo!)
    await page.waitForURL(/\/console\/members$/)
    await page.getByRole('cell', { name: h.platform.demo!.email }).waitFor()
    // Nobody changes their own membership: no role menu or remove button on the owner's own row.
    assert.equal(await page.getByRole('button', { name: /^Remove/ }).count(), 0)
    await page.getByLabel('Email').fill(viewer.email)
    await page.locator('form[aria-labelledby="invite-title"] select[name="role"]').selectOption('viewer')
    await page.getByRole('button', { name: 'Invite' }).click()
    invitationLink = (await page.getByTestId('invitation-link').textContent()) ?? ''
    assert.match(invitationLink, /\/accept-invitation#/)
    await page.getByRole('row', { name: new RegExp(`${viewer.email}.*viewer.*pending`) }).waitFor()
    await h.screenshot(page, 'members-owner')
    await page.context().close()
  })

  test('the invited viewer joins through the link and sees no admin page', async () => {
    const page = await (await h.context()).newPage()
    // The mail's link points at the gateway's root; the token rides in the fragment.
    const link = new URL(invitationLink)
    await page.goto(`${h.platform.url}${link.pathname}${link.hash}`)
    await page.waitForURL(/\/console\/accept-invitation#/)
    await page.getByLabel(/^Password/).fill(viewer.password)
    await page.getByRole('button', { name: 'Join' }).click()
    await page.waitForURL(/\/console\/sites$/)
    await page.getByRole('row', { name: /Demo site/ }).waitFor()
    const nav = page.getByRole('navigation', { name: 'Main' })
    assert.equal(await nav.getByRole('link', { name: 'Sites' }).count(), 1)
    assert.equal(await nav.getByRole('link', { name: 'Members' }).count(), 0)
    assert.equal(await nav.getByRole('link', { name: 'Audit log' }).count(), 0)
    // The sites page without the add form (sites:write), the heatmaps still open (heatmaps:read).
    assert.equal(await page.getByRole('button', { name: 'Add site' }).count(), 0)
    assert.equal(await page.getByRole('link', { name: 'Heatmaps of Demo site' }).count(), 1)
    await h.screenshot(page, 'viewer-sites')
    // An admin page opened by its address says why it shows nothing.
    assert.equal(await nav.getByRole('link', { name: 'Privacy' }).count(), 0)
    for (const [path, permission] of [
      ['/console/members', 'members:read'],
      ['/console/audit', 'audit:read'],
      ['/console/privacy', 'privacy:read'],
    ] as const) {
      await page.goto(`${h.platform.url}${path}`)
      await page.getByRole('heading', { name: 'Not available to your role' }).waitFor()
      assert.match((await page.locator('main').textContent()) ?? '', new RegExp(permission))
      assert.equal(await page.getByRole('table').count(), 0, `nothing listed on ${path}`)
    }
    await h.screenshot(page, 'viewer-audit-refused')

    // Signed out, the same address asks to sign in and comes back after.
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/console\/login/)
    await page.goto(`${h.platform.url}/console/members`)
    await page.waitForURL(/\/console\/login\?next=/)
    await submitSignIn(page, viewer)
    await page.waitForURL(/\/console\/members$/)
    await page.getByRole('heading', { name: 'Not available to your role' }).waitFor()
    await h.screenshot(page, 'viewer-members-refused')
    await page.context().close()
  })

  test('the organisation switcher signs into the other organisation and ends the sign-in left', async () => {
    const page = await (await h.context()).newPage()
    await h.signIn(page, viewer)
    const session = () =>
      page.evaluate(
        () =>
          JSON.parse(localStorage.getItem('hm.console.session') ?? '{}') as {
            accessToken?: string
            role?: string
          },
      )
    const before = await session()
    assert.equal(before.role, 'viewer')
    await page.getByLabel('Organisation').selectOption({ label: "Val's shop (owner)" })
    const nav = page.getByRole('navigation', { name: 'Main' })
    await nav.getByRole('link', { name: 'Members' }).waitFor()
    assert.equal((await session()).role, 'owner')
    await page.getByRole('row', { name: /Demo site/ }).waitFor({ state: 'detached' })
    const old = await fetch(`${h.platform.url}/v1/me`, {
      headers: { authorization: `Bearer ${before.accessToken}` },
    })
    assert.equal(old.status, 401, 'the sign-in of the organisation left is over')
    await h.screenshot(page, 'switched-organisation')

    // Signing out ends the sign-in on the gateway, not only in the page.
    const token = (await session()).accessToken
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/console\/login/)
    const me = await fetch(`${h.platform.url}/v1/me`, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(me.status, 401)
    assert.equal(await page.evaluate(() => localStorage.getItem('hm.console.session')), null)
    await page.context().close()
    assert.deepEqual(h.pageErrors, [], 'no errors in the console')
  })
})

describe('the console as its own service', { timeout: 120_000 }, () => {
  test('serves the app and passes the API and the live socket to the gateway', async () => {
    const { url, close: stopServer } = await startConsoleServer({
      host: '127.0.0.1',
      port: 0,
      gatewayUrl: h.platform.url,
    })
    try {
      const root = await fetch(`${url}/`, { redirect: 'manual' })
      assert.deepEqual([root.status, root.headers.get('location')], [302, '/console/'])
      // The same answers from the gateway and from the service of its own.
      for (const origin of [h.platform.url, url]) {
        const deep = await fetch(`${origin}/console/sites/some-site/heatmap`)
        assert.equal(deep.status, 200)
        assert.match(deep.headers.get('content-type') ?? '', /text\/html/)
        assert.equal(deep.headers.get('cache-control'), 'no-cache')
        assert.match(deep.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/)
        const html = await deep.text()
        const asset = /src="(\/console\/_build\/assets\/client-[^"]+\.js)"/.exec(html)?.[1]
        assert.ok(asset, 'the page loads its entry script')
        const js = await fetch(`${origin}${asset}`)
        assert.equal(js.status, 200)
        assert.match(js.headers.get('content-type') ?? '', /javascript/)
        assert.match(js.headers.get('cache-control') ?? '', /immutable/)
        assert.equal((await fetch(`${origin}/console/_build/assets/missing.js`)).status, 404)
        // Paths out of the build, sent as they are (fetch would resolve the dots itself).
        for (const outside of ['/console/..%2f..%2f..%2fpackage.json', '/console/../../../package.json'])
          assert.doesNotMatch(await rawGet(origin, outside), /"workspaces"/, outside)
      }
      const health = await fetch(`${url}/v1/health`)
      assert.equal(health.status, 200)

      const page = await (await h.context()).newPage()
      await page.goto(`${url}/console/sites`)
      await page.waitForURL(/\/console\/login/)
      await submitSignIn(page, h.platform.demo!)
      await page.waitForURL(/\/console\/sites$/)
      await page.getByRole('link', { name: 'Heatmaps of Demo site' }).click()
      await page.getByLabel('Live').check()
      await until(
        () => page.getByTestId('live-status').getAttribute('data-state'),
        (s) => s === 'live',
      )
      assert.ok(
        isRed(
          (
            await until(
              () => readCanvas(page),
              (c) => isRed(c.at(HOT.cell)),
              10_000,
            )
          ).at(HOT.cell),
        ),
      )
      await h.screenshot(page, 'standalone-live')
      await page.context().close()
    } finally {
      await stopServer()
    }
  })
})
