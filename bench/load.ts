/**
 * The load generator of the HTTP benches (ingest-http, cluster): concurrent keep-alive loops posting
 * fresh batches of 50 clicks (unique batch ids, a person's pace) for a fixed time, round-robin over the
 * endpoints given. It runs in a process of its own, so it never shares an event loop with a server.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BATCH = 50
const PAGES = 100
const CONCURRENCY = 32
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'

export const LOAD_SHAPE = { batch: BATCH, pages: PAGES, concurrency: CONCURRENCY }

export interface Load {
  /** Endpoints posted to, in turn (full URLs). */
  urls: string[]
  siteKey: string
  /** Prefix of the batch and session ids: a run never repeats another's. */
  run: string
  durationMs: number
  /**
   * Load sent first and not measured (default 0): the server's and the generator's code are compiled and
   * optimised by then, as in a server that has been up for a while. Its batches go to other pages
   * (`/warm/…`) than the measured ones (`/p/…`), so the counts of the measured pages are the measured load.
   */
  warmupMs?: number
}

export interface LoadResult {
  /** Batches answered 202. */
  ok: number
  /** Other answers by status (or error message), counted. */
  failed: Record<string, number>
  ms: number
  latencies: number[]
  /** When the measured load began (`Date.now()`, the same clock in every process): after the warm-up. */
  startedAt: number
}

async function generate({ urls, siteKey, run, durationMs, warmupMs = 0 }: Load): Promise<LoadResult> {
  const now = Date.now()
  const events = (path: string) =>
    JSON.stringify(
      Array.from({ length: BATCH }, (_, i) => ({
        type: 'click',
        // A person's pace: 50 clicks over 5 s.
        ts: now - 5000 + i * 100,
        url: `https://bench.example${path}`,
        vw: 1280,
        vh: 800,
        dw: 1280,
        dh: 4000,
        x: (i * 97) % 1280,
        y: (i * 613) % 4000,
      })),
    )
  const post = async (phase: string, pages: readonly string[], ms: number) => {
    const latencies: number[] = []
    const failed: Record<string, number> = {}
    let ok = 0
    let n = 0
    const t0 = performance.now()
    const end = t0 + ms
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < end) {
          const i = n++
          const body = `{"siteKey":"${siteKey}","batchId":"${run}-${phase}${i}","visitorId":"v${i % 997}","sessionId":"${run}-${phase}s${i}","events":${pages[i % PAGES]}}`
          const s = performance.now()
          try {
            const res = await fetch(urls[i % urls.length]!, {
              method: 'POST',
              headers: { 'content-type': 'text/plain', 'user-agent': UA },
              body,
            })
            await res.arrayBuffer()
            latencies.push(performance.now() - s)
            if (res.status === 202) ok++
            else failed[res.status] = (failed[res.status] ?? 0) + 1
          } catch (e) {
            failed[(e as Error).message] = (failed[(e as Error).message] ?? 0) + 1
          }
        }
      }),
    )
    return { ok, failed, ms: performance.now() - t0, latencies }
  }
  const pages = (prefix: string) => Array.from({ length: PAGES }, (_, p) => events(`${prefix}/${p}`))
  if (warmupMs > 0) await post('w', pages('/warm'), warmupMs)
  const startedAt = Date.now()
  return { ...(await post('', pages('/p'), durationMs)), startedAt }
}

/** Runs the generator in a child process and resolves what it measured. */
export function runLoad(load: Load): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_LOAD: JSON.stringify(load) },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as LoadResult)
      else reject(new Error(`load generator exited ${code}`))
    })
  })
}

/** Latency percentile of a run (ms). */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN
}

if (process.env.BENCH_LOAD !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(JSON.stringify(await generate(JSON.parse(process.env.BENCH_LOAD) as Load)))
}
