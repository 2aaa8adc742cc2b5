import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parse } from 'yaml'
import {
  assertConsoleEnv,
  assertNodeEnv,
  assertPinned,
  drainBudgetMs,
  durationMs,
  isSecretName,
  read,
  samples,
  sharedByNodes,
  urlPassword,
} from './checks.ts'

interface Service {
  image?: string
  build?: unknown
  command?: string[]
  environment?: Record<string, string | number | boolean>
  ports?: string[]
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[] }
  stop_grace_period?: string
  volumes?: string[]
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>
  volumes: Record<string, unknown>
}
const services = compose.services
const nodes = Object.entries(services).filter(([, s]) => s.environment?.HM_NATS_URL !== undefined)

/** What compose does with `${NAME}`, `${NAME:-default}` and `${NAME:?message}`, with samples for .env. */
function interpolate(value: string): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::?([-?])([^}]*))?\}/g,
    (_, name: string, op?: string, arg?: string) => {
      const v = samples[name]
      if (v !== undefined) return v
      if (op === '-') return arg ?? ''
      throw new Error(`\${${name}} has no sample value and no default`)
    },
  )
}

function env(s: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]))
}

function raw(s: Service): Record<string, string> {
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]))
}

/** The container port of a `host:container` mapping. */
function containerPorts(s: Service): number[] {
  return (s.ports ?? []).map((p) => Number(String(p).split(':').at(-1)))
}

describe('docker-compose.yml', () => {
  test('runs NATS with JetStream (2.10+), ClickHouse, PostgreSQL, Redis, a gateway, 2+ runtime nodes and the console', () => {
    for (const name of ['nats', 'clickhouse', 'postgres', 'redis', 'gateway', 'console'])
      assert.ok(services[name], `no ${name} service`)
    assert.ok(nodes.length >= 3, `a gateway and at least two runtime nodes, found ${nodes.length} nodes`)
    const nats = services.nats!
    const [major, minor] = (/:(\d+)\.(\d+)/.exec(nats.image ?? '') ?? []).slice(1).map(Number)
    assert.ok(major! > 2 || (major === 2 && minor! >= 10), `NATS ${nats.image} is older than 2.10`)
    assert.ok(nats.command?.includes('--jetstream'), 'NATS runs without JetStream')
  })

  test('every node environment is one the configuration schema accepts, with every required variable set', () => {
    for (const [name, s] of nodes) assertNodeEnv(`compose ${name}`, env(s))
    const ids = nodes.map(([, s]) => env(s).HM_NODE_ID)
    assert.equal(new Set(ids).size, ids.length, `node ids repeat: ${ids.join(', ')}`)
    for (const v of sharedByNodes) {
      const values = new Set(nodes.map(([, s]) => raw(s)[v]))
      assert.equal(values.size, 1, `${v} differs between nodes`)
    }
    assertConsoleEnv('compose console', env(services.console!))
  })

  test('the gateway hosts no actors and the runtime nodes serve no API; replicas fit the NATS servers', () => {
    assert.equal(env(services.gateway!).HM_ROLE, 'gateway')
    const runtimes = nodes.filter(([name]) => name !== 'gateway')
    assert.ok(runtimes.length >= 2, 'two or more runtime nodes')
    for (const [name, s] of runtimes) assert.equal(env(s).HM_ROLE, 'runtime', name)
    // The users' and the console's entry is the gateway: only it publishes a port among the nodes.
    for (const [name, s] of runtimes) assert.deepEqual(containerPorts(s), [], `${name} publishes a port`)
    for (const [name, s] of nodes)
      assert.equal(Number(env(s).HM_NATS_REPLICAS), 1, `${name}: one NATS server, one replica`)
  })

  test('ports agree between services', () => {
    const gateway = env(services.gateway!)
    assert.ok(
      containerPorts(services.gateway!).includes(Number(gateway.HM_PORT)),
      'gateway publishes HM_PORT',
    )
    for (const [name, s] of nodes)
      assert.ok(
        s.healthcheck?.test.join(' ').includes(`:${env(s).HM_PORT}/v1/health`),
        `${name}: health check on HM_PORT`,
      )
    const consoleEnv = env(services.console!)
    const gw = new URL(consoleEnv.HM_GATEWAY_URL!)
    assert.ok(services[gw.hostname] && nodes.some(([n]) => n === gw.hostname), 'console points at a node')
    assert.equal(gw.port, env(services[gw.hostname]!).HM_PORT, 'console reaches the gateway on its HM_PORT')
    assert.ok(containerPorts(services.console!).includes(Number(consoleEnv.HM_CONSOLE_PORT)))
    assert.ok(services.console!.healthcheck?.test.join(' ').includes(`:${consoleEnv.HM_CONSOLE_PORT}/`))
    const stores: Array<[string, string, string]> = [
      ['HM_NATS_URL', 'nats', '4222'],
      ['HM_CLICKHOUSE_URL', 'clickhouse', '8123'],
      ['HM_DATABASE_URL', 'postgres', '5432'],
      ['HM_REDIS_URL', 'redis', '6379'],
    ]
    for (const [name, s] of nodes)
      for (const [v, host, port] of stores) {
        const u = new URL(env(s)[v]!)
        assert.equal(u.hostname, host, `${name}: ${v} names the ${host} service`)
        assert.equal(u.port, port, `${name}: ${v} uses ${host}'s port`)
      }
    assert.ok(!services.nats!.command?.some((a) => a === '--port' || a === '-p'), 'NATS listens on 4222')
  })

  test('health checks everywhere, and nodes start only once what they need is healthy', () => {
    for (const [name, s] of Object.entries(services))
      assert.ok((s.healthcheck?.test.length ?? 0) > 0, `${name} has no health check`)
    for (const [name, s] of [...nodes, ['console', services.console!] as const]) {
      const deps = Object.entries(s.depends_on ?? {})
      assert.ok(deps.length > 0, `${name} depends on nothing`)
      for (const [dep, d] of deps) assert.equal(d.condition, 'service_healthy', `${name} → ${dep}`)
    }
    // Every store a node uses is healthy before it, directly or through the gateway it waits for.
    const reaches = (from: string, seen = new Set<string>()): Set<string> => {
      for (const dep of Object.keys(services[from]?.depends_on ?? {}))
        if (!seen.has(dep)) reaches(dep, seen.add(dep))
      return seen
    }
    for (const [name] of nodes)
      for (const store of ['nats', 'clickhouse', 'postgres', 'redis'])
        assert.ok(reaches(name).has(store), `${name} does not wait for ${store}`)
  })

  test('images are pinned to versions, and the nodes are built from the Dockerfile', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.image, `${name} has no image`)
      assertPinned(`compose ${name}`, s.image)
    }
    for (const [name, s] of nodes)
      assert.ok(s.build !== undefined, `${name} is not built from the Dockerfile`)
    const from = [...read('Dockerfile').matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!)
    assert.ok(from.length >= 2, 'the Dockerfile is multi-stage')
    for (const image of from) {
      assertPinned('Dockerfile', image)
      assert.match(image, /^node:20\.\d+\.\d+-/, `base ${image} is not a pinned node:20.x.y`)
    }
    assert.match(read('Dockerfile'), /^USER node$/m, 'the image runs as the unprivileged node user')
  })

  test('no secret in plain text: each comes from .env, without a default', () => {
    for (const [name, s] of Object.entries(services))
      for (const [k, v] of Object.entries(raw(s))) {
        if (isSecretName(k))
          assert.match(v, /^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$/, `${name}: ${k} is written in the file`)
        const password = urlPassword(v)
        if (password !== undefined)
          assert.match(password, /^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$/, `${name}: ${k} has a password in the file`)
      }
    const text = read('docker-compose.yml')
    // A password on a command line must be the container's own variable ($$ escapes compose's interpolation).
    for (const m of text.matchAll(/(?:requirepass|--password)\s+(\S+)/g))
      assert.ok(/^\\?"?\$\$[A-Z_]+/.test(m[1]!), `a password is written in the file: ${m[0]}`)
    for (const line of read('deploy/compose.env.example').split('\n'))
      if (!line.startsWith('#') && isSecretName(line.split('=')[0] ?? ''))
        assert.match(line, /=$/, `the example sets a secret: ${line}`)
  })

  test('stop_grace_period outlasts the drain on every node', () => {
    for (const [name, s] of nodes) {
      assert.ok(s.stop_grace_period, `${name}: no stop_grace_period (compose's 10 s default is shorter)`)
      const grace = durationMs(s.stop_grace_period)
      const e = env(s)
      assert.ok(grace > drainBudgetMs(e), `${name}: ${grace} ms ≤ drain budget ${drainBudgetMs(e)} ms`)
      assert.ok(grace > Number(e.HM_LEASE_MS), `${name}: stop grace ≤ HM_LEASE_MS`)
    }
  })

  test('stateful services keep their data in named volumes', () => {
    for (const name of ['nats', 'clickhouse', 'postgres', 'redis', ...nodes.map(([n]) => n)]) {
      const volume = services[name]!.volumes?.[0]?.split(':')[0]
      assert.ok(volume && volume in compose.volumes, `${name} has no named volume`)
    }
  })
})
