/**
 * `npm run serve -w console` (or `node --import tsx console/serve.ts`): the console as its own service,
 * configured by environment variables read once and checked at start-up:
 *
 * - `HM_CONSOLE_HOST` — address to listen on (default `127.0.0.1`; `0.0.0.0` in containers)
 * - `HM_CONSOLE_PORT` — port (default `8090`; `0` picks a free one)
 * - `HM_GATEWAY_URL` — the gateway the API calls go to (default `http://127.0.0.1:8080`)
 *
 * The console must be built first (`npm run build:console`); a container image builds it once.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { consoleOutputDir } from './index.ts'
import { startConsoleServer } from './server.ts'

function fail(message: string): never {
  console.error(`Configuration error: ${message}`)
  process.exit(2)
}

function config(env: NodeJS.ProcessEnv): { host: string; port: number; gatewayUrl: string } {
  const host = env.HM_CONSOLE_HOST ?? '127.0.0.1'
  if (host.trim() === '') fail('HM_CONSOLE_HOST: must not be empty')
  const rawPort = env.HM_CONSOLE_PORT ?? '8090'
  const port = Number(rawPort)
  if (!/^\d+$/.test(rawPort) || port > 65535)
    fail(`HM_CONSOLE_PORT: ${JSON.stringify(rawPort)} is not a port (0 to 65535)`)
  const gatewayUrl = env.HM_GATEWAY_URL ?? 'http://127.0.0.1:8080'
  let parsed: URL
  try {
    parsed = new URL(gatewayUrl)
  } catch {
    fail(`HM_GATEWAY_URL: ${JSON.stringify(gatewayUrl)} is not a URL`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    fail(`HM_GATEWAY_URL: ${JSON.stringify(gatewayUrl)} must be http:// or https://`)
  if (parsed.pathname !== '/' || parsed.search !== '')
    fail(`HM_GATEWAY_URL: ${JSON.stringify(gatewayUrl)} must be an origin, without a path`)
  return Object.freeze({ host, port, gatewayUrl: parsed.origin })
}

const c = config(process.env)
if (!existsSync(join(consoleOutputDir, 'index.html'))) {
  console.error(`The console is not built at ${consoleOutputDir}: run npm run build:console first.`)
  process.exit(1)
}
const { url, close } = await startConsoleServer(c)
console.log(`\n  Heatmap console is running at ${url}/console/ (API: ${c.gatewayUrl})\n`)
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void close().then(() => process.exit(0))
  })
