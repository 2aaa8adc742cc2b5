import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkClusterConfig, clusterNodeId } from '../../src/cluster.ts'
import { ConfigError, loadConfig } from '../../src/index.ts'

const shared = {
  HM_NATS_URL: 'nats://127.0.0.1:4222',
  HM_CLICKHOUSE_URL: 'http://127.0.0.1:8123',
  HM_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/hm',
  HM_REDIS_URL: 'redis://127.0.0.1:6379',
}

test('a cluster node refuses per-process stores, naming the ones to set', () => {
  assert.throws(
    () =>
      checkClusterConfig(loadConfig({ HM_NATS_URL: shared.HM_NATS_URL, HM_REDIS_URL: shared.HM_REDIS_URL })),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.variable === 'HM_NATS_URL' &&
      /HM_CLICKHOUSE_URL, HM_DATABASE_URL as well/.test(e.message),
  )
  assert.doesNotThrow(() => checkClusterConfig(loadConfig(shared)))
})

test('cluster timing and names are validated', () => {
  assert.throws(
    () => checkClusterConfig(loadConfig({ ...shared, HM_LEASE_MS: '3000', HM_HEARTBEAT_MS: '1500' })),
    (e: unknown) =>
      e instanceof ConfigError && e.variable === 'HM_HEARTBEAT_MS' && /third of HM_LEASE_MS/.test(e.message),
  )
  assert.throws(
    () => loadConfig({ ...shared, HM_NODE_ID: 'node 1' }),
    (e: unknown) => e instanceof ConfigError && e.variable === 'HM_NODE_ID',
  )
  assert.throws(
    () => loadConfig({ ...shared, HM_LEASE_MS: '100' }),
    (e: unknown) => e instanceof ConfigError && e.variable === 'HM_LEASE_MS',
  )
  const c = loadConfig(shared)
  assert.equal(c.HM_CLUSTER, 'hm')
  assert.equal(c.HM_NATS_STREAM, 'HM_EVENTS')
  assert.match(clusterNodeId(c), /^[A-Za-z0-9_-]{1,64}$/)
  assert.equal(clusterNodeId(loadConfig({ ...shared, HM_NODE_ID: 'node-7' })), 'node-7')
})
