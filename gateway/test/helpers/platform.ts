import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, type Platform, startPlatform } from '../../src/index.ts'

/** The embedded platform in this process, on a free port and a temp data dir, without demo traffic. */
export async function startTestPlatform(
  env: Record<string, string> = {},
): Promise<{ platform: Platform; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hm-test-'))
  let platform: Platform
  try {
    platform = await startPlatform(
      loadConfig({
        HM_DATA_DIR: dir,
        HM_PORT: '0',
        HM_THREADS: '2',
        HM_SHARDS: '16',
        HM_FLUSH_INTERVAL_MS: '100',
        HM_DEMO_TRAFFIC: 'false',
        HM_LOG_LEVEL: 'warn',
        ...env,
      }),
    )
  } catch (e) {
    await rm(dir, { recursive: true, force: true })
    throw e
  }
  return {
    platform,
    stop: async () => {
      await platform.stop()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
