/**
 * What the console's browser tests stand on: the embedded platform in this process on a temp data dir
 * (it serves the console, the APIs and takes the events), the console built, and real headless Chromium
 * with WebGL2 through SwiftShader (no GPU needed), so the heatmap is drawn for real and read by pixels.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { WireEvent } from '@hm/actors'
import { loadConfig, type Platform, startPlatform } from '@hm/gateway'
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core'

/** A desktop Chrome's User-Agent: headless Chromium's own says "HeadlessChrome", which is dropped as a bot. */
export const DESKTOP_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36'

/** Screenshots of the runs, kept for a person to look at (gitignored). */
export const artifactsDir = new URL('../../test-artifacts/app/', import.meta.url).pathname

/** An account to sign in with. */
export interface Account {
  email: string
  password: string
}

/**
 * Fills in the sign-in form the page shows and sends it; where the page goes next (or the refusal it
 * shows) is the caller's to wait for.
 */
export async function submitSignIn(page: Page, who: Account): Promise<void> {
  await page.getByLabel('Email').fill(who.email)
  await page.getByLabel('Password').fill(who.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

export interface ConsoleHarness {
  platform: Platform
  browser: Browser
  /** A browser context at a desktop size; every page error and failed console request is recorded. */
  context(): Promise<BrowserContext>
  /** Page errors seen so far (uncaught exceptions in the console). */
  pageErrors: string[]
  /** Saves a screenshot of `page` as `<name>.png` in the artifacts folder and prints its path. */
  screenshot(page: Page, name: string): Promise<string>
  /** Posts events of one session as a desktop browser would. */
  send(sessionId: string, events: WireEvent[]): Promise<void>
  /** Opens the sign-in page and signs in (the demo owner unless `who` is given); waits for the sites list. */
  signIn(page: Page, who?: Account): Promise<void>
  /** A signed-in owner's access token (the demo account), for setting things up through the API. */
  ownerToken(): Promise<string>
  stop(): Promise<void>
}

let batchNo = 0

/** Builds the console if its build is stale (a no-op when `npm test` has just built it). */
function buildConsole(): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'build.ts'], {
    cwd: new URL('../..', import.meta.url).pathname,
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`console build failed:\n${r.stdout}\n${r.stderr}`)
}

export async function startConsoleHarness(env: Record<string, string> = {}): Promise<ConsoleHarness> {
  buildConsole()
  mkdirSync(artifactsDir, { recursive: true })
  const dir = await mkdtemp(join(tmpdir(), 'hm-console-'))
  let platform: Platform
  try {
    platform = await startPlatform(
      loadConfig({
        HM_DATA_DIR: dir,
        HM_PORT: '0',
        HM_THREADS: '2',
        HM_SHARDS: '8',
        HM_FLUSH_INTERVAL_MS: '100',
        HM_DEMO_TRAFFIC: 'false',
        HM_LOG_LEVEL: 'warn',
        ...env,
      }),
    )
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw e
  }
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // No --disable-gpu: WebGL2 comes from SwiftShader, the software GPU Chromium ships.
    args: [
      '--no-sandbox',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  })
  const pageErrors: string[] = []
  const demo = platform.demo!
  return {
    platform,
    browser,
    pageErrors,
    async context() {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, userAgent: DESKTOP_UA })
      ctx.on('weberror', (e) => pageErrors.push(e.error().message))
      return ctx
    },
    async screenshot(page, name) {
      const path = join(artifactsDir, `${name}.png`)
      await page.screenshot({ path, fullPage: true })
      console.log(`screenshot: ${path}`)
      return path
    },
    async send(sessionId, events) {
      const r = await fetch(`${platform.url}/v1/events/collect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': DESKTOP_UA },
        body: JSON.stringify({
          siteKey: demo.siteKey,
          // Padded in the middle, not at the end: `b1` padded to `b10` would be batch 10's id (a retry).
          batchId: `c${process.pid}b${String(++batchNo).padStart(6, '0')}`,
          visitorId: `v-${sessionId}`,
          sessionId,
          events,
        }),
      })
      if (r.status !== 202) throw new Error(`collect ${r.status}: ${await r.text()}`)
    },
    async signIn(page, who = demo) {
      await page.goto(`${platform.url}/console/login`)
      await submitSignIn(page, who)
      await page.waitForURL(/\/console\/sites$/)
    },
    async ownerToken() {
      const r = await fetch(`${platform.url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: demo.email, password: demo.password }),
      })
      if (r.status !== 200) throw new Error(`login ${r.status}: ${await r.text()}`)
      return ((await r.json()) as { accessToken: string }).accessToken
    },
    async stop() {
      await browser.close().catch(() => {})
      await platform.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/** Polls `probe` until `done` holds (or `ms` pass, which fails with the last value). */
export async function until<T>(
  probe: () => Promise<T> | T,
  done: (v: T) => boolean,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (done(v)) return v
    if (Date.now() > end) throw new Error(`not reached in ${ms} ms; last: ${JSON.stringify(v).slice(0, 400)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
