/**
 * Peer: the counter workload on RivetKit actors. RivetKit 2.3 has no in-memory driver any more: `setup()`
 * runs actors on its native core and routes every call through a Rivet Engine that it spawns from the
 * `@rivetkit/engine-cli` binary (RocksDB store, HTTP gateway on 127.0.0.1:6420). That engine outlives the
 * process that started it, so the peer runs in a child process with HOME on a temporary directory and stops
 * the engine by the pid the engine records there.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RivetkitJob, RivetkitReport } from './rivetkit-host.ts'

export type { RivetkitCase, RivetkitOutcome, RivetkitReport } from './rivetkit-host.ts'

const TIMEOUT_MS = Number(process.env.BENCH_RIVETKIT_TIMEOUT_MS ?? 300_000)

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function stopEngine(home: string): Promise<void> {
  const file = join(home, '.rivetkit', 'var', 'engine', 'runtime.json')
  const pid = await readFile(file, 'utf8').then(
    (text) => Number((JSON.parse(text) as { pid?: unknown }).pid),
    () => Number.NaN,
  )
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return
  process.kill(pid, 'SIGTERM')
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50))
  if (alive(pid)) process.kill(pid, 'SIGKILL')
}

/** Keeps the tail of the child's output, to say why it failed. */
function tail(child: ChildProcess): () => string {
  const lines: string[] = []
  const keep = (chunk: Buffer): void => {
    for (const l of chunk.toString('utf8').split('\n'))
      if (l.trim() !== '' && !l.includes('SQLite transaction is unnamed')) lines.push(l.slice(0, 300))
    lines.splice(0, Math.max(0, lines.length - 5))
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return () => lines.join(' | ')
}

/**
 * RivetKit is not in the lock: with it, `npm ci` refuses the lock (npm records none of the platform
 * packages of its engine binary), so it is installed on demand.
 */
const INSTALL = 'npm i --no-save rivetkit@2.3.19'

function installed(): boolean {
  try {
    createRequire(import.meta.url).resolve('rivetkit')
    return true
  } catch {
    return false
  }
}

export async function rivetkitPeer(job: RivetkitJob): Promise<RivetkitReport> {
  if (!installed()) return { ok: false, error: `rivetkit is not installed; \`${INSTALL}\` adds it` }
  const home = await mkdtemp(join(tmpdir(), 'hm-bench-rivetkit-'))
  const child = fork(new URL('./rivetkit-host.ts', import.meta.url).pathname, [], {
    execArgv: process.execArgv,
    env: { ...process.env, HOME: home },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  const output = tail(child)
  try {
    return await new Promise<RivetkitReport>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        resolve({ ok: false, error: `no result within ${TIMEOUT_MS} ms (${output()})` })
      }, TIMEOUT_MS)
      child.once('message', (report: RivetkitReport) => {
        clearTimeout(timer)
        resolve(report)
      })
      child.once('error', (e) => {
        clearTimeout(timer)
        resolve({ ok: false, error: e.message })
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        resolve({ ok: false, error: `host process exited (${code ?? signal}) before reporting: ${output()}` })
      })
      child.send(job)
    })
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      await exited
      clearTimeout(timer)
    }
    await stopEngine(home)
    await rm(home, { recursive: true, force: true })
  }
}
