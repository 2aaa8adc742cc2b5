/**
 * What the compose and Nomad tests both check: the node configuration against the gateway's own schema
 * (loadConfig, so an unknown HM_ variable or a bad value fails exactly as a node would at start-up),
 * secrets, pinned images and the drain budget.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { ConfigSchema, loadConfig } from '@hm/gateway'

export const root = new URL('../../', import.meta.url).pathname

export function read(path: string): string {
  return readFileSync(new URL(path, `file://${root}`), 'utf8')
}

/**
 * A cluster node refuses to start without the shared stores; and without one HM_AUTH_SECRET and one
 * HM_ENCRYPTION_KEYS each node would make its own in its data dir, so a token signed by one node would
 * fail on the next and PII written by one could not be read by another. HM_HOST must not be the
 * loopback default in a container, and HM_NODE_ID must be stable (the container's host name is not).
 */
export const requiredOnNodes = [
  'HM_HOST',
  'HM_PORT',
  'HM_ROLE',
  'HM_NODE_ID',
  'HM_NATS_URL',
  'HM_CLICKHOUSE_URL',
  'HM_DATABASE_URL',
  'HM_REDIS_URL',
  'HM_AUTH_SECRET',
  'HM_ENCRYPTION_KEYS',
  'HM_LEASE_MS',
  'HM_SHARDS',
] as const

/** Settings every node of one cluster must agree on (the schema's descriptions say "the same on every node"). */
export const sharedByNodes = [
  'HM_SHARDS',
  'HM_LEASE_MS',
  'HM_NATS_STREAM',
  'HM_CLUSTER',
  'HM_NATS_REPLICAS',
  'HM_AUTH_SECRET',
  'HM_ENCRYPTION_KEYS',
] as const

/** The variables the console service reads (console/serve.ts); it is not a gateway and has its own. */
export const consoleVariables = ['HM_CONSOLE_HOST', 'HM_CONSOLE_PORT', 'HM_GATEWAY_URL'] as const

/** Values that stand in for secrets and discovered addresses when a node's environment is validated. */
export const samples: Record<string, string> = {
  CLICKHOUSE_PASSWORD: '0123456789abcdef0123456789abcdef',
  POSTGRES_PASSWORD: '0123456789abcdef0123456789abcdef',
  REDIS_PASSWORD: '0123456789abcdef0123456789abcdef',
  HM_AUTH_SECRET: 'a'.repeat(48),
  HM_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  HM_PUBLIC_URL: 'https://heatmap.example.com',
}

const secretName = /PASSWORD|SECRET|ENCRYPTION_KEYS|TOKEN|requirepass/i

export function isSecretName(name: string): boolean {
  return secretName.test(name)
}

/** The password part of a URL's user info, if any (`scheme://user:password@host`). */
export function urlPassword(value: string): string | undefined {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/@:]*:([^@]*)@/i.exec(value)
  return m?.[1]
}

/**
 * Checks a node's environment the way the node itself would: every HM_ variable is one the schema knows,
 * each value passes it, and the required ones are set.
 */
export function assertNodeEnv(where: string, env: Record<string, string>): void {
  for (const name of Object.keys(env).filter((k) => k.startsWith('HM_')))
    assert.ok(name in ConfigSchema.properties, `${where}: ${name} is not a variable the configuration knows`)
  assert.doesNotThrow(() => loadConfig(env), `${where}: the node would refuse this configuration`)
  for (const name of requiredOnNodes)
    assert.ok((env[name] ?? '') !== '', `${where}: ${name} must be set on a cluster node`)
  assert.equal(env.HM_HOST, '0.0.0.0', `${where}: HM_HOST must listen on every interface in a container`)
}

export function assertConsoleEnv(where: string, env: Record<string, string>): void {
  for (const name of Object.keys(env).filter((k) => k.startsWith('HM_')))
    assert.ok(
      (consoleVariables as readonly string[]).includes(name),
      `${where}: ${name} is not a variable the console service reads`,
    )
  assert.equal(env.HM_CONSOLE_HOST, '0.0.0.0', `${where}: HM_CONSOLE_HOST must be 0.0.0.0 in a container`)
  assert.match(env.HM_GATEWAY_URL ?? '', /^https?:\/\/[^/]+$/, `${where}: HM_GATEWAY_URL must be an origin`)
}

/** `name:tag` with a tag carrying at least major.minor, never `latest`. */
export function assertPinned(where: string, image: string): void {
  const tag = /:([^:/]+)$/.exec(image)?.[1]
  assert.ok(tag !== undefined && tag !== 'latest', `${where}: image ${image} has no pinned tag`)
  assert.match(tag, /^v?\d+\.\d+/, `${where}: image ${image} is not pinned to a version`)
}

/** Parses Go/Nomad durations ("45s", "2m", "1m30s") and compose ones (the same syntax) to milliseconds. */
export function durationMs(value: string): number {
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)]
  assert.ok(parts.length > 0 && parts.map((p) => p[0]).join('') === value, `${value} is not a duration`)
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0)
}

/**
 * How long SIGTERM may take before the process is killed. The drain hands every shard off (its last
 * flush committed, its messages acknowledged, its lease deleted); the configuration has no drain timeout
 * of its own, so the budget is set against the lease and the flush interval: a flush per shard in flight,
 * a lease that may be renewed once while handing off, and margin for a slow ClickHouse. A node killed
 * sooner still loses nothing, but its shards wait out HM_LEASE_MS and replay.
 */
export function drainBudgetMs(env: Record<string, string>): number {
  const c = loadConfig(env)
  return 3 * c.HM_LEASE_MS + c.HM_FLUSH_INTERVAL_MS
}

/** The exact metric name the runtime exports for its mailbox depth, read from its source. */
export function mailboxMetricExported(name: string): boolean {
  return read('gateway/src/runtime-metrics.ts').includes(`'${name}'`)
}
