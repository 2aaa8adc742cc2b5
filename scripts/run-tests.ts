/**
 * The one test command: node's test runner over every `*.test.ts` of the workspaces (Node 20 has no glob
 * for `--test`), with the same tsx loader that `npm start` and the worker threads use.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const root = new URL('..', import.meta.url).pathname
// deploy/ is not a workspace; its tests parse the compose file and the Nomad jobs.
const packages = ['runtime', 'actors', 'gateway', 'sdk', 'console', 'deploy']
const only = process.argv.slice(2)

function find(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) find(path, out)
    else if (name.endsWith('.test.ts')) out.push(relative(root, path))
  }
}

const files: string[] = []
for (const p of packages) {
  try {
    find(join(root, p, 'test'), files)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
  }
}
const selected = only.length > 0 ? files.filter((f) => only.some((o) => f.includes(o))) : files
if (selected.length === 0) {
  console.error(`no test files match ${only.join(' ')}`)
  process.exit(1)
}
// A test that hangs fails after ten minutes (the longest takes under one), and a file whose clean-up failed
// half-way, leaving a connection that reconnects forever, still ends once its tests have: either would
// otherwise hold the whole run until CI gives up, with no report of which test it was.
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=1',
    '--test-timeout=600000',
    '--test-force-exit',
    '--test-reporter=spec',
    ...selected.sort(),
  ],
  { cwd: root, stdio: 'inherit' },
)
process.exit(r.status ?? 1)
