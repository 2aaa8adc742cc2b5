/**
 * `npm run bench [part…]`: each measurement beside a baseline measured in the same run, with the ratio.
 * Parts: runtime, ingest, query, live (all by default).
 */
import { ingestBench } from './ingest.ts'
import { queryBench } from './query.ts'
import { liveBench } from './query-live.ts'
import { runtimeBench } from './runtime.ts'

const parts: Record<string, () => Promise<void>> = {
  runtime: runtimeBench,
  ingest: ingestBench,
  query: queryBench,
  live: liveBench,
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
