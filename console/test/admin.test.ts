/**
 * The console's instance and account pages end to end, in headless Chromium against the real platform:
 * the instance operator (the demo owner, the instance's first account) opens the runtime dashboard and
 * watches active actors and turns/s rise as traffic arrives; the owner of another organisation, no
 * operator, has no Runtime entry and is refused when opening it by address; the privacy page lists the
 * consent decisions visitors sent through /v1/consent, filtered by visitor; an account turns on TOTP
 * through its page (the code computed from the shown secret) and is then asked for a code at sign-in.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import type { Page } from 'playwright-core'
import { totpCode } from '../../gateway/src/auth/totp.ts'
import {
  type ConsoleHarness,
  DESKTOP_UA,
  startConsoleHarness,
  submitSignIn,
  until,
} from './helpers/platform.ts'

let h: ConsoleHarness
const shots = new URL('../test-artifacts/admin/', import.meta.url).pathname
const PASSWORD = 'a long enough password'

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(shots, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  console.log(`screenshot: ${path}`)
}

async function signUpByApi(who: string): Promise<string> {
  const email = `${who}.${process.pid}.${Date.now()}@example.com`
  const r = await fetch(`${h.platform.url}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, name: who, password: PASSWORD, organization: `${who} org` }),
  })
  assert.equal(r.status, 201, await r.text())
  return email
}

const number = async (page: Page, testId: string): Promise<number> =>
  Number.parseFloat(((await page.getByTestId(testId).textContent()) ?? '').replace(/,/g, ''))

before(async () => {
  mkdirSync(shots, { recursive: true })
  h = await startConsoleHarness()
})
after(async () => {
  await h?.stop()
})

describe('operator, privacy and account pages', { timeout: 240_000 }, () => {
  test('the operator watches the runtime dashboard: active actors and turns/s rise with traffic', async () => {
    const page = await (await h.context()).newPage()
    await h.signIn(page)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runtime' }).click()
    await page.waitForURL(/\/console\/runtime$/)
    await page.getByTestId('runtime-status').filter({ hasText: 'Live' }).waitFor()
    await page.getByTestId('total-nodes').waitFor()
    // One embedded node: the harness's 8 shards on 2 worker threads, nothing sent yet.
    assert.equal(await number(page, 'total-nodes'), 1)
    assert.equal(await number(page, 'total-shards'), 8)
    assert.equal(await number(page, 'total-threads'), 2)
    assert.equal(await page.getByTestId('worker-row').count(), 2)
    assert.equal(await page.getByTestId('node-shards').textContent(), '0–7')
    const quiet = { active: await number(page, 'total-active'), turns: await number(page, 'total-turns') }
    assert.deepEqual(quiet, { active: 0, turns: 0 })

    // Visitors click across a few pages, a batch every 150 ms, until the dashboard shows them.
    let sending = true
    const traffic = (async () => {
      for (let n = 0; sending; n++) {
        const ts = Date.now()
        const url = `https://shop.example/runtime/${n % 6}`
        const events: WireEvent[] = [
          { type: 'pageview', ts, url, vw: 1280, vh: 800, dw: 1280, dh: 3000 },
          { type: 'click', ts, url, vw: 1280, vh: 800, dw: 1280, dh: 3000, x: 100 + (n % 10), y: 200 },
        ]
        await h.send(`rt-${n % 12}`, events)
        await new Promise((r) => setTimeout(r, 150))
      }
    })()
    try {
      await until(
        async () => ({
          active: await number(page, 'total-active'),
          turns: await number(page, 'total-turns'),
        }),
        (v) => v.active > 0 && v.turns > 0,
        30_000,
      )
      const pageRow = page.locator('[data-testid="type-row"][data-type="page"]')
      await pageRow.waitFor()
      assert.ok(Number.parseFloat((await pageRow.locator('[data-col="turns"]').textContent()) ?? '') > 0)
      assert.ok(Number.parseFloat((await pageRow.locator('[data-col="active"]').textContent()) ?? '') > 0)
      await screenshot(page, 'runtime-dashboard')
    } finally {
      sending = false
      await traffic
    }
    await page.context().close()
  })

  test('an owner of another organisation is no operator: no Runtime entry, and refused by address', async () => {
    const email = await signUpByApi('tenant')
    const page = await (await h.context()).newPage()
    await h.signIn(page, { email, password: PASSWORD })
    const nav = page.getByRole('navigation', { name: 'Main' })
    await nav.getByRole('link', { name: 'Members' }).waitFor()
    assert.equal(await nav.getByRole('link', { name: 'Runtime' }).count(), 0)
    await page.goto(`${h.platform.url}/console/runtime`)
    await page.getByTestId('runtime-forbidden').waitFor()
    assert.match((await page.getByTestId('runtime-forbidden').textContent()) ?? '', /instance:read/)
    // The gateway refuses the stream to this account as well, whatever the page shows.
    const token = await page.evaluate(
      () =>
        (JSON.parse(localStorage.getItem('hm.console.session') ?? '{}') as { accessToken?: string })
          .accessToken,
    )
    const r = await fetch(`${h.platform.url}/v1/runtime/stream`, {
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(r.status, 403)
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'HM_ERR_AUTH_FORBIDDEN')
    await page.context().close()
  })

  test('the privacy page lists the consent decisions sent through /v1/consent, filtered by visitor', async () => {
    const { siteKey } = h.platform.demo!
    const decisions: Array<[string, boolean]> = [
      ['visitor-ann', true],
      ['visitor-bob', false],
      ['visitor-ann', false],
      ['visitor-cid', true],
    ]
    for (const [visitorId, granted] of decisions) {
      const r = await fetch(`${h.platform.url}/v1/consent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': DESKTOP_UA },
        body: JSON.stringify({ siteKey, visitorId, granted }),
      })
      assert.equal(r.status, 204, await r.text())
    }
    const page = await (await h.context()).newPage()
    await h.signIn(page)
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Privacy' }).click()
    const rows = page.getByTestId('consent-row')
    await until(
      () => rows.count(),
      (n) => n === decisions.length,
    )
    // Newest first, as sent in reverse.
    const shown = await rows.evaluateAll((trs) =>
      trs.map((tr) => [
        tr.getAttribute('data-visitor'),
        tr.querySelector('[data-col="decision"]')?.textContent,
        tr.querySelector('[data-col="ip"]')?.textContent,
      ]),
    )
    assert.deepEqual(
      shown.map(([v, d]) => [v, d]),
      [...decisions].reverse().map(([v, g]) => [v, g ? 'granted' : 'refused']),
    )
    // The owner sees the stored address: this machine's, anonymised (the last part zeroed).
    for (const [, , ip] of shown) assert.match(ip ?? '', /^(127\.0\.0\.0|::)$/)
    await screenshot(page, 'consent-log')

    await page.getByLabel('Only this visitor').fill('visitor-ann')
    await page.getByRole('button', { name: 'Show' }).click()
    await until(
      () => rows.count(),
      (n) => n === 2,
    )
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-visitor'))), [
      'visitor-ann',
      'visitor-ann',
    ])
    await page.context().close()
  })

  test('TOTP is set up on the account page with a code from the shown secret; sign-in then asks for a code', async () => {
    const email = await signUpByApi('mfa')
    const page = await (await h.context()).newPage()
    await h.signIn(page, { email, password: PASSWORD })
    await page.getByRole('link', { name: 'Account' }).click()
    await page.waitForURL(/\/console\/account$/)
    assert.match((await page.getByTestId('mfa-state').textContent()) ?? '', /^Off/)
    await page.getByRole('button', { name: 'Set up two-step sign-in' }).click()
    await page.getByTestId('mfa-setup').waitFor()
    const secret = ((await page.getByTestId('mfa-secret').textContent()) ?? '').trim()
    const uri = ((await page.getByTestId('mfa-uri').textContent()) ?? '').trim()
    assert.match(secret, /^[A-Z2-7]{32}$/)
    assert.ok(uri.startsWith('otpauth://totp/') && uri.includes(`secret=${secret}`), uri)
    // The QR code is drawn: a square image with dark modules.
    const qr = page.getByTestId('mfa-qr')
    const box = await qr.boundingBox()
    assert.ok(box !== null && box.width > 100 && Math.abs(box.width - box.height) < 1)
    assert.ok(((await qr.locator('path').getAttribute('d')) ?? '').length > 1000)
    await screenshot(page, 'mfa-setup')

    const setupCode = totpCode(secret)
    await page
      .getByRole('form', { name: 'Confirm two-step sign-in' })
      .getByLabel('Code from your app')
      .fill(setupCode)
    await page.getByRole('button', { name: 'Turn on' }).click()
    await page.getByTestId('mfa-state').filter({ hasText: /^On/ }).waitFor()

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/console\/login/)
    await submitSignIn(page, { email, password: PASSWORD })
    const code = page.getByLabel('One-time code')
    await code.waitFor()
    assert.match((await page.getByRole('alert').textContent()) ?? '', /code from your authenticator app/)
    // A code is good once: the one that turned MFA on is spent, so sign in with the next step's.
    await code.fill(totpCode(secret, Date.now() + 30_000))
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(/\/console\/sites$/)
    assert.equal(
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Runtime' }).count(),
      0,
    )
    await page.context().close()
    assert.deepEqual(h.pageErrors, [])
  })
})
