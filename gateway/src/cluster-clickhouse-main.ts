/**
 * Serves one chDB data directory over the ClickHouse HTTP interface, for the nodes of a cluster on one
 * machine that has no ClickHouse server (see `cluster-clickhouse-server.ts` for what it is and is not):
 *
 *   node --import tsx gateway/src/cluster-clickhouse-main.ts --data-dir ./data/analytics --port 8123
 *
 * With `HM_CLICKHOUSE_PASSWORD` set (and `HM_CLICKHOUSE_USER`, `default` unless set) it requires them,
 * the same variables the nodes connect with. Prints `listening <url>`; stops on SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util'
import { serveChdbHttp } from './cluster-clickhouse-server.ts'

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8123' },
  },
})
const dataDir = values['data-dir']
const port = Number(values.port)
if (dataDir === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
  console.error('usage: cluster-clickhouse-main.ts --data-dir <dir> [--host 127.0.0.1] [--port 8123]')
  process.exit(2)
}
const server = await serveChdbHttp({
  dataDir,
  host: values.host,
  port,
  user: process.env.HM_CLICKHOUSE_USER,
  password: process.env.HM_CLICKHOUSE_PASSWORD,
})
console.log(`listening ${server.url}`)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void server.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error('close failed', e)
        process.exit(1)
      },
    )
  })
}
