import assert from 'node:assert/strict'
import { test } from 'node:test'
import { checkClusterConfig, clusterNodeId } from '../../src/cluster.ts'
import { urlList } from '../../src/config.ts'
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

test('a role other than all needs a cluster; the role and the replica count are validated', () => {
  for (const role of ['gateway', 'runtime']) {
    assert.throws(
      () => checkClusterConfig(loadConfig({ HM_ROLE: role })),
      (e: unknown) =>
        e instanceof ConfigError && e.variable === 'HM_ROLE' && /set HM_NATS_URL/.test(e.message),
    )
    assert.equal(loadConfig({ ...shared, HM_ROLE: role }).HM_ROLE, role)
  }
  assert.doesNotThrow(() => checkClusterConfig(loadConfig({})))
  assert.equal(loadConfig({}).HM_ROLE, 'all')
  assert.throws(
    () => loadConfig({ ...shared, HM_ROLE: 'worker' }),
    (e: unknown) =>
      e instanceof ConfigError && e.variable === 'HM_ROLE' && /one of all, gateway, runtime/.test(e.message),
  )
  assert.equal(loadConfig(shared).HM_NATS_REPLICAS, 1)
  assert.equal(loadConfig({ ...shared, HM_NATS_REPLICAS: '3' }).HM_NATS_REPLICAS, 3)
  assert.throws(
    () => loadConfig({ ...shared, HM_NATS_REPLICAS: '7' }),
    (e: unknown) => e instanceof ConfigError && e.variable === 'HM_NATS_REPLICAS',
  )
})

test('HM_NATS_URL takes several servers, comma-separated, each checked', () => {
  const seeds = 'nats://nats-0:4222, nats://nats-1:4222,tls://nats-2:4222'
  assert.deepEqual(urlList(loadConfig({ ...shared, HM_NATS_URL: seeds }).HM_NATS_URL!), [
    'nats://nats-0:4222',
    'nats://nats-1:4222',
    'tls://nats-2:4222',
  ])
  for (const bad of ['nats://a:4222,http://b:4222', 'nats://a:4222,', 'nats://a:4222,,nats://b:4222']) {
    assert.throws(
      () => loadConfig({ ...shared, HM_NATS_URL: bad }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.variable === 'HM_NATS_URL' &&
        /one or more URLs, comma-separated/.test(e.message),
      bad,
    )
  }
})
