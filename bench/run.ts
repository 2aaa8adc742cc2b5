/**
 * `npm run bench [part…]`: each measurement beside a baseline measured in the same run, with the ratio.
 * Parts: runtime, ingest, ingest-http, query, live, cluster (all by default).
 */
import { spawn } from 'node:child_process'
import { ingestBench } from './ingest.ts'
import { queryBench } from './query.ts'
import { liveBench } from './query-live.ts'
import { runtimeBench } from './runtime.ts'

/** A bench that is a script of its own (it runs its load generator in a separate process). */
const script = (file: string) => (): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, new URL(file, import.meta.url).pathname], {
      stdio: 'inherit',
    })
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`))))
  })

const parts: Record<string, () => Promise<void>> = {
  runtime: runtimeBench,
  ingest: ingestBench,
  'ingest-http': script('./ingest-http.ts'),
  query: queryBench,
  live: liveBench,
  cluster: script('./cluster.ts'),
}
const wanted = process.argv.slice(2)
for (const name of wanted) {
  if (!(name in parts)) {
    console.error(`unknown bench part ${name}; parts: ${Object.keys(parts).join(', ')}`)
    process.exit(2)
  }
}
for (const [name, run] of Object.entries(parts)) {
  if (wanted.length === 0 || wanted.includes(name)) await run()
}
