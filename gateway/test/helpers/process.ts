import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { DemoCredentials } from '../../src/accounts/demo.ts'

const root = new URL('../../../', import.meta.url).pathname

export interface Running extends RunningNode {
  creds: DemoCredentials
}

export interface RunningNode {
  child: ChildProcess
  url: string
  output: () => string
}

/** Starts `gateway/src/main.ts` as `npm start` does and reads the demo credentials it wrote. */
export async function startProcess(dataDir: string, env: Record<string, string> = {}): Promise<Running> {
  const node = await startNode(dataDir, env)
  const creds = JSON.parse(await readFile(join(dataDir, 'demo-credentials.json'), 'utf8')) as DemoCredentials
  return { ...node, creds }
}

/** Starts `gateway/src/main.ts` as `npm start` does, in its own process, and waits for its banner. */
export async function startNode(dataDir: string, env: Record<string, string> = {}): Promise<RunningNode> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HM_DATA_DIR: dataDir,
      HM_PORT: '0',
      HM_THREADS: '2',
      HM_SHARDS: '16',
      HM_DEMO_TRAFFIC: 'false',
      HM_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in 60 s:\n${out}`)), 60_000)
    const check = (): void => {
      const m = /running at (http:\/\/\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    child.stdout!.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`exited ${code} before its banner:\n${out}`))
    })
  })
  return { child, url, output: () => out }
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}
