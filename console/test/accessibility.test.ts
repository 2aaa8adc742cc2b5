/**
 * The console's accessibility end to end, in headless Chromium against the real platform. The demo owner
 * (an instance operator, so every view is open to them) visits every main view with real data behind it —
 * seeded clicks on known elements, scrolls, a recorded session, consent decisions, the live runtime — and
 * axe-core checks each one against WCAG 2.1 A and AA (no serious or critical violation, in the light and
 * the dark colour scheme) and for its landmark and heading structure. At a phone's size (390 × 844) no
 * view scrolls sideways (only the heatmap stage and wide tables scroll, inside themselves) and the
 * navigation opens from a menu button worked by the keyboard, closed again by Escape. On the heatmap
 * page the keyboard reaches the filters, the live switch, the element ranking's rows and the exports, each
 * showing where the focus is.
 */
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { WireEvent } from '@hm/actors'
import type { AxeResults, ImpactValue } from 'axe-core'
import type { BrowserContext, Page } from 'playwright-core'
import { checkoutVisit } from './helpers/checkout-visit.ts'
import { type ConsoleHarness, DESKTOP_UA, startConsoleHarness, until } from './helpers/platform.ts'

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
const shots = new URL('../test-artifacts/accessibility/', import.meta.url).pathname
const PHONE = { width: 390, height: 844 }
const DESKTOP = { width: 1280, height: 900 }
const url = (path: string) => `https://shop.example${path}`
const SESSION = 'a11y-session'
/** One visitor's recorded minute on the checkout, for the sessions list and the replay. */
const checkout = checkoutVisit(Date.now() - 120_000)
const DAY = 86_400_000

let h: ConsoleHarness
let sessionNo = 0

// Elements of /pricing with their clicks (the ranking's rows), all at one spot of the map.
const CLICKS: Array<{ selector: string; clicks: number; x: number; y: number }> = [
  { selector: '#buy', clicks: 9, x: 400, y: 300 },
  { selector: '#plan-pro', clicks: 5, x: 900, y: 520 },
  { selector: 'nav > a.home', clicks: 3, x: 80, y: 40 },
]
/** The clicks of the last week on /pricing's elements: those above and one on #buy yesterday (for compare). */
const ELEMENT_CLICKS = CLICKS.reduce((n, c) => n + c.clicks, 0) + 1

function visit(path: string, ts: number, rest: Array<Record<string, unknown>>): WireEvent[] {
  const screen = { url: url(path), vw: 1280, vh: 800, dw: 1280, dh: 3200 }
  return [
    { type: 'pageview', ts, ...screen } as WireEvent,
    ...rest.map((e, i) => ({ ts: ts + 1000 * (i + 1), ...screen, ...e }) as WireEvent),
  ]
}

async function seed(): Promise<void> {
  const now = Date.now()
  const sends: Array<Promise<void>> = []
  for (const c of CLICKS)
    for (let done = 0; done < c.clicks; done += 3) {
      const n = Math.min(3, c.clicks - done)
      const at = { x: c.x, y: c.y, selector: c.selector }
      const events = visit(
        '/pricing',
        now - 3_600_000,
        Array.from({ length: n }, () => ({ type: 'click', ...at })),
      )
      sends.push(h.send(`a11y-${++sessionNo}`, events))
    }
  // Scroll depth: visitors reaching 800, 1600 and 2400 px of /article.
  for (const depth of [800, 1600, 2400, 2400])
    sends.push(h.send(`a11y-${++sessionNo}`, visit('/article', now - 3_600_000, [{ type: 'scroll', depth }])))
  // /pricing yesterday as well, so the compare view has two sides with data.
  sends.push(
    h.send(
      `a11y-${++sessionNo}`,
      visit('/pricing', now - DAY - 3_600_000, [{ type: 'click', x: 400, y: 300, selector: '#buy' }]),
    ),
  )
  sends.push(h.send(SESSION, checkout))
  await Promise.all(sends)
  // Visitors' consent decisions, for the privacy page's log.
  for (const [visitorId, granted] of [
    ['visitor-ann', true],
    ['visitor-bob', false],
  ] as const) {
    const r = await fetch(`${h.platform.url}/v1/consent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': DESKTOP_UA },
      body: JSON.stringify({ siteKey: h.platform.demo!.siteKey, visitorId, granted }),
    })
    assert.equal(r.status, 204, await r.text())
  }
}

async function read<T>(path: string, query: Record<string, string>): Promise<T> {
  const { siteId, apiKey } = h.platform.demo!
  const r = await fetch(`${h.platform.url}/v1/sites/${siteId}/${path}?${new URLSearchParams(query)}`, {
    headers: { authorization: `Bearer ${apiKey}` },
  })
  return (await r.json()) as T
}

/** One view of the console: where it is and what shows that it has its data. */
interface View {
  name: string
  path: () => string
  signedOut?: boolean
  ready: (page: Page) => Promise<void>
}

const site = () => `/console/sites/${h.platform.demo!.siteId}`
const frames = (page: Page) =>
  page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))

const views: View[] = [
  {
    name: 'sign-in',
    path: () => '/console/login',
    signedOut: true,
    ready: (p) => p.getByRole('button', { name: 'Sign in' }).waitFor(),
  },
  {
    name: 'sign-up',
    path: () => '/console/signup',
    signedOut: true,
    ready: (p) => p.getByRole('button', { name: 'Create account' }).waitFor(),
  },
  {
    name: 'sites',
    path: () => '/console/sites',
    ready: (p) => p.getByRole('row', { name: /Demo site/ }).waitFor(),
  },
  {
    name: 'site-settings',
    path: site,
    ready: (p) => p.getByRole('button', { name: 'Save settings' }).waitFor(),
  },
  {
    name: 'heatmap',
    path: () => `${site()}/heatmap?page=%2Fpricing&type=click`,
    async ready(p) {
      await until(
        () => p.getByTestId('element-row').count(),
        (n) => n === CLICKS.length,
      )
      await until(
        () => p.getByTestId('heatmap-total').getAttribute('data-loading'),
        (l) => l === 'false',
      )
      await p.getByTestId('heatmap-canvas').waitFor()
    },
  },
  {
    name: 'scroll-depth',
    path: () => `${site()}/heatmap?page=%2Farticle&type=scroll`,
    async ready(p) {
      await until(
        () => p.getByTestId('scroll-mark').count(),
        (n) => n > 0,
      )
      await p.getByTestId('fold-line').waitFor()
    },
  },
  {
    name: 'compare',
    path: () => `${site()}/compare?page=%2Fpricing&type=click&b=24h&a=prev`,
    async ready(p) {
      await until(
        () => p.getByTestId('compare-b-views').textContent(),
        (t) => /page views/.test(t ?? ''),
      )
    },
  },
  {
    name: 'sessions',
    path: () => `${site()}/sessions`,
    ready: (p) => p.locator(`[data-testid="session-row"][data-session="${SESSION}"]`).waitFor(),
  },
  {
    name: 'session-replay',
    path: () => `${site()}/sessions/${SESSION}`,
    ready: (p) => p.getByTestId('replay-marker-rage').waitFor(),
  },
  {
    name: 'members',
    path: () => '/console/members',
    ready: (p) => p.getByRole('button', { name: 'Invite' }).waitFor(),
  },
  {
    name: 'privacy',
    path: () => '/console/privacy',
    async ready(p) {
      await until(
        () => p.getByTestId('consent-row').count(),
        (n) => n === 2,
      )
    },
  },
  {
    name: 'audit',
    path: () => '/console/audit',
    ready: (p) => p.getByRole('cell', { name: 'auth.login', exact: true }).first().waitFor(),
  },
  {
    name: 'runtime',
    path: () => '/console/runtime',
    async ready(p) {
      await p.getByTestId('runtime-status').filter({ hasText: 'Live' }).waitFor()
      await p.getByTestId('total-nodes').waitFor()
    },
  },
  {
    name: 'account',
    path: () => '/console/account',
    async ready(p) {
      // The MFA setup open: its QR code, secret and confirmation form are checked too.
      await p.getByRole('button', { name: 'Set up two-step sign-in' }).click()
      await p.getByTestId('mfa-qr').waitFor()
    },
  },
]

const WCAG = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']
/** Structure beyond the WCAG tags: one main landmark and one h1, headings in order, landmarks told apart. */
const STRUCTURE = ['landmark-one-main', 'page-has-heading-one', 'heading-order', 'landmark-unique', 'region']
const SERIOUS: ReadonlyArray<ImpactValue> = ['serious', 'critical']

type Violation = AxeResults['violations'][number]

async function axe(page: Page, options: object): Promise<Violation[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: axePath })
  const results = await page.evaluate(
    (o) =>
      (window as unknown as { axe: { run(ctx: Document, o: object): Promise<AxeResults> } }).axe.run(
        document,
        o,
      ),
    options,
  )
  return results.violations
}

const report = (where: string, vs: Violation[]): string[] =>
  vs.map(
    (v) =>
      `${where}: ${v.id} (${v.impact}) ${v.help}\n    ${v.nodes
        .slice(0, 6)
        .map(
          (n) =>
            `${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s+/g, ' ')}` : ''}`,
        )
        .join('\n    ')}`,
  )

async function newContext(size: typeof DESKTOP, phone: boolean): Promise<BrowserContext> {
  const ctx = await h.browser.newContext({
    viewport: size,
    userAgent: DESKTOP_UA,
    ...(phone ? { isMobile: true, hasTouch: true } : {}),
  })
  ctx.on('weberror', (e) => h.pageErrors.push(e.error().message))
  return ctx
}

async function open(page: Page, view: View): Promise<void> {
  await page.goto(`${h.platform.url}${view.path()}`)
  await view.ready(page)
  await frames(page)
}

async function screenshot(page: Page, name: string): Promise<void> {
  const path = join(shots, `${name}.png`)
  await page.screenshot({ path, fullPage: true })
  console.log(`screenshot: ${path}`)
}

/** Walks every view in a context of the given size: signed out first, then signed in. */
async function eachView(
  size: typeof DESKTOP,
  phone: boolean,
  check: (page: Page, view: View) => Promise<void>,
): Promise<void> {
  const ctx = await newContext(size, phone)
  const page = await ctx.newPage()
  try {
    for (const view of views.filter((v) => v.signedOut)) {
      await open(page, view)
      await check(page, view)
    }
    await h.signIn(page)
    for (const view of views.filter((v) => !v.signedOut)) {
      await open(page, view)
      await check(page, view)
    }
  } finally {
    await ctx.close()
  }
}

/**
 * How wide the page is laid out against the phone's width, and what sticks out past the right edge
 * outside anything that scrolls or clips it: the elements that make the page scroll sideways. (A phone
 * browser zooms out to fit a page wider than its screen, so the window's own width would grow with the
 * page: the width compared against is the screen's. A string, so the test runner's transform leaves the
 * code alone.)
 */
const OVERFLOWING = `(() => {
  const width = ${PHONE.width}
  const out = []
  // An absolutely placed box is clipped only by boxes from its containing block (positioned) outwards.
  const clipped = (el) => {
    let escaping = ['absolute', 'fixed'].includes(getComputedStyle(el).position)
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const cs = getComputedStyle(p)
      if (escaping && cs.position === 'static') continue
      if (cs.overflowX !== 'visible') return true
      escaping = ['absolute', 'fixed'].includes(cs.position)
    }
    return false
  }
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect()
    if (r.width === 0 || r.right <= width + 0.5 || clipped(el)) continue
    const id = el.id ? '#' + el.id : ''
    const cls = typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : ''
    out.push(el.tagName.toLowerCase() + id + cls + ' (right ' + Math.round(r.right) + ' px)')
    if (out.length === 8) break
  }
  return { scrollWidth: document.documentElement.scrollWidth, width, out }
})()`

interface Overflow {
  scrollWidth: number
  width: number
  out: string[]
}

before(async () => {
  mkdirSync(shots, { recursive: true })
  h = await startConsoleHarness()
  await seed()
  await h.platform.runtime!.flushNow()
  // Everything stored: the element ranking and scroll depth read ClickHouse only.
  await until(
    () => read<{ totalClicks: number }>('elements', { page: '/pricing' }),
    (e) => e.totalClicks === ELEMENT_CLICKS,
    30_000,
  )
  await until(
    () => read<{ views: number }>('scroll', { page: '/article' }),
    (s) => s.views === 4,
    30_000,
  )
  await until(
    async () => {
      const r = await fetch(`${h.platform.url}/v1/sites/${h.platform.demo!.siteId}/sessions/${SESSION}`, {
        headers: { authorization: `Bearer ${h.platform.demo!.apiKey}` },
      })
      return r.status === 200 ? ((await r.json()) as { session: { events: number } | null }).session : null
    },
    (s) => s !== null && s.events === checkout.length,
    30_000,
  )
})

after(async () => {
  await h?.stop()
})

describe('accessibility', { timeout: 600_000 }, () => {
  test('every view at a desktop size: no serious or critical WCAG 2.1 AA violation, light or dark; landmarks and headings in order', async () => {
    const failures: string[] = []
    await eachView(DESKTOP, false, async (page, view) => {
      const wcag = await axe(page, { runOnly: { type: 'tag', values: WCAG } })
      failures.push(
        ...report(
          `${view.name} (light)`,
          wcag.filter((v) => SERIOUS.includes(v.impact ?? null)),
        ),
      )
      failures.push(
        ...report(
          `${view.name} (structure)`,
          await axe(page, { runOnly: { type: 'rule', values: STRUCTURE } }),
        ),
      )
      await screenshot(page, `${view.name}-desktop`)
      // The dark palette is the same pages in other colours: its contrast is checked the same way.
      await page.emulateMedia({ colorScheme: 'dark' })
      await frames(page)
      const dark = await axe(page, { runOnly: { type: 'rule', values: ['color-contrast'] } })
      failures.push(
        ...report(
          `${view.name} (dark)`,
          dark.filter((v) => SERIOUS.includes(v.impact ?? null)),
        ),
      )
      await page.emulateMedia({ colorScheme: 'light' })
    })
    assert.ok(failures.length === 0, `accessibility violations:\n${failures.join('\n')}`)
    assert.deepEqual(h.pageErrors, [])
  })

  test('every view at a phone size: no sideways scrolling, no serious violation, the navigation behind a keyboard-operable menu', async () => {
    const failures: string[] = []
    let navChecked = 0
    await eachView(PHONE, true, async (page, view) => {
      const o = (await page.evaluate(OVERFLOWING)) as Overflow
      if (o.scrollWidth > o.width)
        failures.push(
          `${view.name}: the page is ${o.scrollWidth} px wide on a ${o.width} px screen: ${o.out.join(', ')}`,
        )
      const wcag = await axe(page, { runOnly: { type: 'tag', values: WCAG } })
      failures.push(
        ...report(
          `${view.name} (phone)`,
          wcag.filter((v) => SERIOUS.includes(v.impact ?? null)),
        ),
      )
      // Tables that scroll here become named regions: still one main landmark, regions told apart.
      failures.push(
        ...report(
          `${view.name} (phone structure)`,
          await axe(page, { runOnly: { type: 'rule', values: STRUCTURE } }),
        ),
      )
      await screenshot(page, `${view.name}-phone`)
      if (view.signedOut) return
      // The navigation folds behind a menu button: the keyboard finds it, opens it, reaches the links, and
      // Escape closes it with the focus back on the button.
      const nav = page.getByRole('navigation', { name: 'Main' })
      const menu = page.getByRole('button', { name: 'Menu' })
      if (!(await menu.isVisible())) {
        failures.push(`${view.name}: no menu button at a phone's width`)
        return
      }
      if (await nav.isVisible()) failures.push(`${view.name}: the navigation is open before the menu is`)
      // From the top of the page: the skip link is its first stop.
      await page.locator('a.skip').focus()
      let tabs = 0
      while (!(await menu.evaluate((b) => b === document.activeElement)) && tabs++ < 6)
        await page.keyboard.press('Tab')
      if (tabs > 6) {
        failures.push(`${view.name}: Tab does not reach the menu button`)
        return
      }
      assert.equal(await menu.getAttribute('aria-expanded'), 'false', view.name)
      await page.keyboard.press('Enter')
      await nav.waitFor({ state: 'visible' })
      assert.equal(await menu.getAttribute('aria-expanded'), 'true', view.name)
      await page.keyboard.press('Tab')
      const focused = await page.evaluate(() =>
        document.activeElement?.closest('nav')?.getAttribute('aria-label'),
      )
      if (focused !== 'Main') failures.push(`${view.name}: Tab after opening the menu leaves the navigation`)
      const open = (await page.evaluate(OVERFLOWING)) as Overflow
      if (open.scrollWidth > open.width)
        failures.push(
          `${view.name}: with the menu open the page is ${open.scrollWidth} px wide: ${open.out.join(', ')}`,
        )
      if (view.name === 'sites') await screenshot(page, 'menu-phone')
      await page.keyboard.press('Escape')
      await nav.waitFor({ state: 'hidden' })
      if (!(await menu.evaluate((b) => b === document.activeElement)))
        failures.push(`${view.name}: Escape leaves the focus off the menu button`)
      navChecked++
    })
    assert.ok(failures.length === 0, `at a phone's size:\n${failures.join('\n')}`)
    assert.equal(navChecked, views.filter((v) => !v.signedOut).length)
    // The menu takes the reader where they ask: a link followed from it closes it on the new page.
    const ctx = await newContext(PHONE, true)
    const page = await ctx.newPage()
    await h.signIn(page)
    await page.getByRole('button', { name: 'Menu' }).click()
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click()
    await page.waitForURL(/\/console\/audit$/)
    await page.getByRole('navigation', { name: 'Main' }).waitFor({ state: 'hidden' })
    await ctx.close()
    assert.deepEqual(h.pageErrors, [])
  })

  test('the heatmap page by keyboard: Tab reaches filters, live switch, element rows and exports, each with a visible focus', async () => {
    const ctx = await newContext(DESKTOP, false)
    const page = await ctx.newPage()
    await h.signIn(page)
    const heatmap = views.find((v) => v.name === 'heatmap')!
    await open(page, heatmap)
    const targets: Record<string, string> = {
      'type filter': 'select[name="type"]',
      'range filter': 'select[name="range"]',
      'live switch': 'input[name="live"]',
      'Export PNG': 'button[data-export="png"]',
      'Export CSV': 'button[data-export="csv"]',
      ...Object.fromEntries(
        CLICKS.map((c) => [
          `row ${c.selector}`,
          `[data-testid="element-row"][data-selector="${c.selector}"] button`,
        ]),
      ),
    }
    const reached = new Map<string, { visible: boolean; style: string }>()
    await page.locator('a.skip').focus()
    for (let i = 0; i < 150 && reached.size < Object.keys(targets).length; i++) {
      await page.keyboard.press('Tab')
      for (const [name, selector] of Object.entries(targets)) {
        if (reached.has(name)) continue
        const hit = await page.evaluate((s) => {
          const el = document.activeElement
          if (el === null || !el.matches(s)) return undefined
          const cs = getComputedStyle(el)
          const outline = cs.outlineStyle !== 'none' && Number.parseFloat(cs.outlineWidth) > 0
          return {
            visible: el.matches(':focus-visible') && (outline || cs.boxShadow !== 'none'),
            style: `outline ${cs.outlineStyle} ${cs.outlineWidth} ${cs.outlineColor}; box-shadow ${cs.boxShadow}`,
          }
        }, selector)
        if (hit !== undefined) reached.set(name, hit)
      }
    }
    assert.deepEqual(
      Object.keys(targets).filter((n) => !reached.has(n)),
      [],
      'not reached by Tab',
    )
    for (const [name, r] of reached) assert.ok(r.visible, `${name} shows no focus: ${r.style}`)
    // A row's button works from the keyboard: Enter copies its selector and says so.
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'])
    await page.locator(targets['row #buy']!).focus()
    await page.keyboard.press('Enter')
    await page.getByRole('status').filter({ hasText: '#buy' }).waitFor()
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), '#buy')
    await ctx.close()
  })
})
