/**
 * Builds the console when its build is missing or stale, then prints its first-load JavaScript.
 *
 * `npm start` runs this before the gateway starts, so a fresh clone serves a console and an unchanged
 * one starts at once: the build records a hash of everything it was made from (the app's sources, its
 * config and the dependency lock) and is redone only when that changes. `--force` rebuilds anyway.
 *
 * The size printed is what a browser must load before the first page shows: the entry script with
 * everything it imports statically, plus the route's own chunk, min+gzip, for each route.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { consoleBase, consoleDir, consoleOutputDir } from './index.ts'

/** What the build is made from: any change here makes the build stale. */
const inputs = ['src', 'app.config.ts', 'package.json', '../package-lock.json']
const stampFile = join(consoleDir, 'dist', 'build-info.json')
/** Budget for the entry (shell, router, sign-in), min+gzip; heavier pages load their code on demand. */
const ENTRY_BUDGET = 60 * 1024

function files(path: string, out: string[]): string[] {
  const s = statSync(path)
  if (s.isDirectory()) for (const name of readdirSync(path).sort()) files(join(path, name), out)
  else out.push(path)
  return out
}

function sourceHash(): string {
  const h = createHash('sha256')
  for (const input of inputs) {
    const path = join(consoleDir, input)
    if (!existsSync(path)) continue
    for (const f of files(path, [])) {
      h.update(relative(consoleDir, f))
      h.update('\0')
      h.update(readFileSync(f))
      h.update('\0')
    }
  }
  return h.digest('hex')
}

interface Stamp {
  hash: string
  builtAt: string
  buildMs: number
}

function readStamp(): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(stampFile, 'utf8')) as Stamp
  } catch {
    return undefined
  }
}

function build(hash: string): Stamp {
  // vinxi's package exports no bin path: its entry is lib/index.js, the CLI sits beside lib/.
  const vinxi = join(fileURLToPath(import.meta.resolve('vinxi')), '..', '..', 'bin', 'cli.mjs')
  // A half-written stamp from an interrupted build must not pass for a good one.
  rmSync(stampFile, { force: true })
  const started = performance.now()
  const r = spawnSync(process.execPath, [vinxi, 'build'], {
    cwd: consoleDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' },
  })
  const buildMs = Math.round(performance.now() - started)
  if (r.status !== 0 || !existsSync(join(consoleOutputDir, 'index.html'))) {
    process.stderr.write(r.stdout)
    process.stderr.write(r.stderr)
    console.error(`console: build failed (exit ${r.status ?? r.signal})`)
    process.exit(1)
  }
  const stamp = { hash, builtAt: new Date().toISOString(), buildMs }
  writeFileSync(stampFile, `${JSON.stringify(stamp, null, 2)}\n`)
  return stamp
}

interface ManifestEntry {
  output: string
  assets: Array<{ tag: string; attrs: { href?: string; rel?: string } }>
}

/** Per route: the scripts a first visit loads (entry closure plus the route's chunk), min+gzip bytes. */
function firstLoad(): { entry: number; routes: Array<{ route: string; bytes: number }> } {
  const html = readFileSync(join(consoleOutputDir, 'index.html'), 'utf8')
  const json = /window\.manifest = (\{.*?\})<\/script>/s.exec(html)?.[1]
  if (json === undefined) throw new Error('console: no route manifest in index.html')
  const manifest = JSON.parse(json) as Record<string, ManifestEntry>
  const gz = new Map<string, number>()
  const size = (href: string): number => {
    let n = gz.get(href)
    if (n === undefined) {
      const file = join(consoleOutputDir, href.slice(consoleBase.length))
      n = gzipSync(readFileSync(file), { level: 9 }).length
      gz.set(href, n)
    }
    return n
  }
  const scripts = (e: ManifestEntry | undefined): string[] =>
    (e?.assets ?? []).filter((a) => a.attrs.rel === 'modulepreload').map((a) => a.attrs.href!)
  const entryScripts = new Set(scripts(manifest['virtual:$vinxi/handler/client']))
  const sum = (set: Set<string>) => [...set].reduce((t, h) => t + size(h), 0)
  const routes = Object.entries(manifest)
    .filter(([k]) => k.startsWith('src/routes/'))
    .map(([k, e]) => ({
      route:
        k
          .slice('src/routes'.length)
          .replace(/\?.*$/, '')
          .replace(/(\/index)?\.tsx$/, '') || '/',
      bytes: sum(new Set([...entryScripts, ...scripts(e)])),
    }))
    .sort((a, b) => b.bytes - a.bytes)
  return { entry: sum(entryScripts), routes }
}

const force = process.argv.includes('--force')
const hash = sourceHash()
const stamp = readStamp()
const fresh = !force && stamp?.hash === hash && existsSync(join(consoleOutputDir, 'index.html'))
const done = fresh ? stamp! : build(hash)
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`
const { entry, routes } = firstLoad()
console.log(
  `console: ${fresh ? 'build up to date' : `built in ${(done.buildMs / 1000).toFixed(1)} s`}; first-load JS (min+gzip): entry ${kb(entry)}, ${routes
    .map((r) => `${r.route} ${kb(r.bytes)}`)
    .join(', ')}`,
)
if (entry > ENTRY_BUDGET) {
  console.error(`console: the entry is ${kb(entry - ENTRY_BUDGET)} over its ${kb(ENTRY_BUDGET)} budget`)
  process.exit(1)
}
