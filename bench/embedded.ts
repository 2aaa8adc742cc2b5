import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Platform } from '@hm/gateway'

/**
 * The platform on embedded defaults in this process, as the benches drive it: a fresh data directory, no
 * demo traffic, rate limits off (one load generator is one client address). `stop` removes the directory.
 */
export async function startEmbedded(prefix: string): Promise<{ platform: Platform; stop(): Promise<void> }> {
  // Loaded when called: `npm run bench` itself, and the load generator, do not need the gateway.
  const { loadConfig, startPlatform } = await import('@hm/gateway')
  const dir = await mkdtemp(join(tmpdir(), prefix))
  const platform = await startPlatform(
    loadConfig({
      HM_DATA_DIR: dir,
      HM_PORT: '0',
      HM_DEMO_TRAFFIC: 'false',
      HM_LOG_LEVEL: 'error',
      HM_RATE_LIMIT_PER_IP: '0',
      HM_RATE_LIMIT_PER_SITE: '0',
    }),
  )
  return {
    platform,
    async stop() {
      await platform.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
