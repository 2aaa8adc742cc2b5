import { ConfigError, loadConfig } from './config.ts'
import { startPlatform } from './platform.ts'

/** "1 worker thread", "2 worker threads". */
const counted = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`

/** `npm start`: the whole platform in one process, on embedded defaults unless the environment says otherwise. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`Configuration error: ${e.message}`)
      process.exit(2)
    }
    throw e
  }
  const platform = await startPlatform(config)
  const lines = [
    '',
    `  Heatmap platform is running at ${platform.url}`,
    '',
    `  analytics store  ${platform.stores.analytics}`,
    `  app database     ${platform.stores.app}`,
    `  cache            ${platform.stores.cache}`,
    `  messaging        ${platform.stores.messaging}`,
    platform.runtime === undefined
      ? '  actor runtime    none here (HM_ROLE=gateway): the runtime nodes of the cluster host the actors'
      : `  actor runtime    ${counted(platform.runtime.stats().threads, 'worker thread')}, ${counted(platform.runtime.stats().shards, 'shard')}`,
  ]
  if (platform.role === 'runtime') lines.push('', '  Serves /v1/health and /metrics only (HM_ROLE=runtime)')
  else lines.push('', `  Console          ${platform.url}/console/`)
  if (platform.demo !== undefined) {
    const d = platform.demo
    lines.push(
      '',
      `  Demo site        ${platform.url}/demo/   (visitors are simulated${config.HM_DEMO_TRAFFIC ? '' : ': off'})`,
      `  Demo login       ${d.email} / ${d.password}`,
      `  Demo site key    ${d.siteKey}`,
      `  Demo API key     ${d.apiKey}`,
      `  Heatmap (API)    curl -H 'Authorization: Bearer ${d.apiKey}' '${platform.url}/v1/sites/${d.siteId}/heatmap?page=/demo&type=click'`,
    )
  }
  console.log(`${lines.join('\n')}\n`)

  const shutdown = (signal: string): void => {
    console.log(`${signal}: stopping (draining and flushing)…`)
    platform.stop().then(
      () => {
        console.log('stopped')
        process.exit(0)
      },
      (e: unknown) => {
        console.error('stop failed', e)
        process.exit(1)
      },
    )
  }
  process.once('SIGINT', () => shutdown('SIGINT'))
  process.once('SIGTERM', () => shutdown('SIGTERM'))
}

main().catch((e: unknown) => {
  if (e instanceof ConfigError) console.error(`Configuration error: ${e.message}`)
  else console.error('start failed:', e)
  process.exit(1)
})
