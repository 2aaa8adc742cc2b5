import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Failpoint, Journal } from './fixtures/crash-node.ts'

const node = fileURLToPath(new URL('./fixtures/crash-node.ts', import.meta.url))
const dirs: string[] = []
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

interface Outcome {
  signal: NodeJS.Signals | null
  code: number | null
  stdout: string
  stderr: string
}

function runNode(args: string[]): Promise<Outcome> {
  const child = spawn(process.execPath, ['--import', 'tsx', node, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
}

const KEYS = 12
const PER_KEY = 40

/**
 * Kill -9 at each point of a flush — before its commit, right after it, between two of the sink's
 * tables, after the snapshots are saved and before the positions — then start again on the same data:
 * the sink's tables and the actors' own state hold every message exactly once.
 */
describe('a node killed -9 in the middle of a flush', () => {
  for (const [journal, failpoint] of (['clickhouse', 'file'] satisfies Journal[]).flatMap((j) =>
    (['before-commit', 'after-commit', 'between-tables', 'after-save'] satisfies Failpoint[]).map(
      (f) => [j, f] as const,
    ),
  )) {
    test(`journal in ${journal === 'file' ? 'local files' : 'ClickHouse'}, killed ${failpoint.replace('-', ' ')}: exact after a restart`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hm-crash-'))
      dirs.push(dir)
      const args = (fp: string): string[] => [dir, journal, fp, '3', String(KEYS), String(PER_KEY)]
      const killed = await runNode(args(failpoint))
      assert.equal(killed.signal, 'SIGKILL', `the failpoint was reached:\n${killed.stdout}\n${killed.stderr}`)
      const again = await runNode(args('none'))
      assert.equal(again.code, 0, again.stderr)
      const result = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as {
        actors: Record<string, number>
        counts: Record<string, number>
        counts2: Record<string, number>
        pending: number
      }
      const want = Object.fromEntries(Array.from({ length: KEYS }, (_, i) => [`k${i}`, PER_KEY]))
      assert.deepEqual(result.actors, want, "the actors' state: no message applied twice on a snapshot")
      assert.deepEqual(result.counts, want, 'first table')
      assert.deepEqual(result.counts2, want, 'second table')
      assert.equal(result.pending, 0, 'every committed flush applied')
    })
  }
})
