import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { before, describe, test } from 'node:test'
import { parse } from '@cdktf/hcl2json'
import {
  assertConsoleEnv,
  assertNodeEnv,
  assertPinned,
  drainBudgetMs,
  durationMs,
  isSecretName,
  mailboxMetricExported,
  read,
  samples,
  sharedByNodes,
  urlPassword,
} from './checks.ts'

/** hcl2json gives every block as a list (blocks may repeat) and labelled blocks as maps of lists. */
type Block = Record<string, unknown>
type Labelled = Record<string, Block[]>

interface Template {
  destination: string
  data: string
  env?: boolean
}

function only(list: unknown, where: string): Block {
  assert.ok(Array.isArray(list) && list.length === 1, `${where}: expected one block`)
  return list[0] as Block
}

function labelled(block: Block, key: string): Array<[string, Block]> {
  return Object.entries((block[key] ?? {}) as Labelled).flatMap(([name, list]) =>
    list.map((b) => [name, b] as [string, Block]),
  )
}

function blocks(block: Block, key: string): Block[] {
  return (block[key] ?? []) as Block[]
}

interface Task {
  job: string
  group: string
  name: string
  block: Block
  groupBlock: Block
  env: Record<string, string>
  templates: Template[]
}

const dir = 'deploy/nomad/'
const jobs = new Map<string, { file: string; job: Block; text: string }>()
const tasks: Task[] = []

/** Values for the template expressions the jobs use: discovered addresses and Nomad variable keys. */
const expressionSamples: Record<string, string> = {
  Address: '10.0.0.5',
  Port: '25000',
  clickhouse_password: samples.CLICKHOUSE_PASSWORD!,
  postgres_password: samples.POSTGRES_PASSWORD!,
  redis_password: samples.REDIS_PASSWORD!,
  auth_secret: samples.HM_AUTH_SECRET!,
  encryption_keys: samples.HM_ENCRYPTION_KEYS!,
  public_url: samples.HM_PUBLIC_URL!,
}

/** Renders a template the way consul-template would for one discovered instance of each service. */
function render(data: string): string {
  // One instance: a separator written only before later instances (`{{ if $i }},{{ end }}`) is not.
  return data
    .replace(/\{\{-?\s*if \$i\s*-?\}\}.*?\{\{-?\s*end\s*-?\}\}/g, '')
    .replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_, expr: string) => {
      const field = /^\$?[a-z]*\.([A-Za-z_]+)$/.exec(expr)?.[1]
      if (field !== undefined) {
        const v = expressionSamples[field]
        assert.ok(v !== undefined, `no sample for {{ ${expr} }}`)
        return v
      }
      if (/^env "NOMAD_ALLOC_INDEX"$/.test(expr)) return '0'
      return '' // range, with, end, break, assignments
    })
}

/** The NAME=value lines of an env template, raw (with their {{ }} expressions) and rendered. */
function envLines(t: Template): Array<{ name: string; raw: string; value: string }> {
  return t.data
    .split('\n')
    .map((line) => line.replace(/^\s*(\{\{[^}]*\}\}\s*)*/, '').trim())
    .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
    .map((line) => {
      const i = line.indexOf('=')
      return { name: line.slice(0, i), raw: line.slice(i + 1), value: render(line.slice(i + 1)) }
    })
}

function taskEnv(t: Task): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(t.env))
    env[k] = v.replace(/\$\{NOMAD_ALLOC_ID\}/g, '5c6328f7-48c5-4d03-bada-91ef2e904d0d')
  for (const tpl of t.templates.filter((x) => x.env)) for (const l of envLines(tpl)) env[l.name] = l.value
  return env
}

function task(job: string): Task {
  const t = tasks.find((x) => x.job === job)
  assert.ok(t, `no task in ${job}`)
  return t
}

const files = readdirSync(new URL(`../nomad/`, import.meta.url)).filter((f) => f.endsWith('.nomad.hcl'))

before(async () => {
  for (const file of files) {
    const text = read(dir + file)
    const json = (await parse(file, text)) as { job?: Labelled }
    const entries = Object.entries(json.job ?? {})
    assert.equal(entries.length, 1, `${file}: one job per file`)
    const [name, list] = entries[0]!
    const job = only(list, file)
    jobs.set(name, { file, job, text })
    for (const [group, g] of labelled(job, 'group'))
      for (const [tname, tb] of labelled(g, 'task'))
        tasks.push({
          job: name,
          group,
          name: tname,
          block: tb,
          groupBlock: g,
          env: Object.fromEntries(
            Object.entries((blocks(tb, 'env')[0] ?? {}) as Record<string, unknown>).map(([k, v]) => [
              k,
              String(v),
            ]),
          ),
          templates: blocks(tb, 'template') as unknown as Template[],
        })
  }
})

const nodeJobs = ['heatmap-gateway', 'heatmap-runtime']

describe('deploy/nomad', () => {
  test('a job for each service, each file parsed by an HCL2 parser', () => {
    assert.deepEqual(
      [...jobs.keys()].sort(),
      ['clickhouse', 'console', 'gateway', 'nats', 'postgres', 'redis', 'runtime'].map((n) => `heatmap-${n}`),
    )
    for (const [name, { file }] of jobs) assert.equal(file, `${name.replace('heatmap-', '')}.nomad.hcl`)
  })

  test('every node environment is one the configuration schema accepts, with every required variable set', () => {
    for (const job of nodeJobs) {
      const env = taskEnv(task(job))
      assertNodeEnv(job, env)
      assert.match(
        task(job).env.HM_NODE_ID ?? '',
        /\$\{NOMAD_ALLOC_ID\}/,
        `${job}: one node id per allocation`,
      )
    }
    for (const v of sharedByNodes)
      assert.equal(
        taskEnv(task('heatmap-gateway'))[v],
        taskEnv(task('heatmap-runtime'))[v],
        `${v} differs between the gateway and the runtime`,
      )
    assertConsoleEnv('heatmap-console', taskEnv(task('heatmap-console')))
  })

  test('counts, rolling update with a canary, and a kill timeout longer than the drain', () => {
    const count = (job: string) => Number(task(job).groupBlock.count)
    assert.ok(count('heatmap-gateway') >= 2, 'gateway count ≥ 2')
    assert.ok(count('heatmap-runtime') >= 3, 'runtime count ≥ 3')
    assert.equal(count('heatmap-nats'), 3, 'a 3-server NATS cluster')
    const update = only(jobs.get('heatmap-runtime')!.job.update, 'runtime update')
    assert.ok(Number(update.canary) >= 1, 'runtime update has a canary')
    assert.equal(Number(update.max_parallel), 1, 'runtime nodes are replaced one at a time')
    for (const job of nodeJobs) {
      const t = task(job)
      assert.equal(t.block.kill_signal, 'SIGTERM', `${job}: SIGTERM starts the drain`)
      const kill = durationMs(String(t.block.kill_timeout))
      const env = taskEnv(t)
      assert.ok(
        kill > drainBudgetMs(env),
        `${job}: kill_timeout ${kill} ms ≤ drain budget ${drainBudgetMs(env)} ms`,
      )
      assert.ok(kill > Number(env.HM_LEASE_MS), `${job}: kill_timeout ≤ HM_LEASE_MS`)
    }
  })

  test('gateways host no actors, runtime nodes serve no API; every NATS server is a seed and replicas fit them', () => {
    assert.equal(taskEnv(task('heatmap-gateway')).HM_ROLE, 'gateway')
    assert.equal(taskEnv(task('heatmap-runtime')).HM_ROLE, 'runtime')
    const servers = Number(task('heatmap-nats').groupBlock.count)
    for (const job of nodeJobs) {
      const replicas = Number(taskEnv(task(job)).HM_NATS_REPLICAS)
      assert.ok(
        replicas > 1 && replicas <= servers,
        `${job}: HM_NATS_REPLICAS ${replicas} of ${servers} servers`,
      )
      // Every registered NATS server goes into HM_NATS_URL, so a node reaches the cluster while one is down.
      const line = task(job)
        .templates.flatMap((t) => envLines(t))
        .find((l) => l.name === 'HM_NATS_URL')
      assert.ok(line, `${job}: HM_NATS_URL comes from a template`)
      assert.match(
        line.raw,
        /range \$i, \$s := nomadService "heatmap-nats"/,
        `${job}: lists every NATS server`,
      )
      assert.doesNotMatch(line.raw, /break/, `${job}: HM_NATS_URL must not stop at the first server`)
    }
  })

  test('ports agree between jobs, and every service the templates look up is registered', () => {
    const registered = new Set<string>()
    for (const t of tasks) for (const s of blocks(t.groupBlock, 'service')) registered.add(String(s.name))
    for (const t of tasks)
      for (const tpl of t.templates)
        for (const m of tpl.data.matchAll(/nomadService "([^"]+)"/g))
          assert.ok(registered.has(m[1]!), `${t.job} looks up ${m[1]}, which no job registers`)
    const portTo = (t: Task, label: string) => {
      const network = only(t.groupBlock.network, `${t.job} network`)
      const [, port] = labelled(network, 'port').find(([n]) => n === label) ?? []
      assert.ok(port, `${t.job}: no port ${label}`)
      return Number(port.to ?? port.static)
    }
    for (const job of nodeJobs) {
      const t = task(job)
      assert.equal(portTo(t, 'http'), Number(taskEnv(t).HM_PORT), `${job}: the http port maps to HM_PORT`)
      const check = only(only(t.groupBlock.service, `${job} service`).check, `${job} check`)
      assert.equal(check.path, '/v1/health')
    }
    const c = task('heatmap-console')
    assert.equal(
      portTo(c, 'http'),
      Number(taskEnv(c).HM_CONSOLE_PORT),
      'console port maps to HM_CONSOLE_PORT',
    )
    const nats = task('heatmap-nats')
    const conf = render(nats.templates[0]!.data)
    assert.match(conf, new RegExp(`listen: 0\\.0\\.0\\.0:${portTo(nats, 'client')}\\n`))
    assert.match(conf, new RegExp(`listen: 0\\.0\\.0\\.0:${portTo(nats, 'cluster')}\\n`))
    assert.match(conf, new RegExp(`http: 0\\.0\\.0\\.0:${portTo(nats, 'monitor')}\\n`))
    assert.match(conf, /jetstream \{/, 'NATS runs JetStream')
    const [, major, minor] = /:(\d+)\.(\d+)/.exec(String(only(nats.block.config, 'nats config').image)) ?? []
    assert.ok(Number(major) > 2 || (Number(major) === 2 && Number(minor) >= 10), 'NATS 2.10 or newer')
    for (const [store, port] of [
      ['clickhouse', 8123],
      ['postgres', 5432],
      ['redis', 6379],
    ] as const) {
      const t = task(`heatmap-${store}`)
      const [label] = labelled(only(t.groupBlock.network, store), 'port')[0]!
      assert.equal(portTo(t, label), port, `${store} listens on its default port`)
    }
  })

  test('health checks on every service of every job', () => {
    for (const t of tasks) {
      const services = blocks(t.groupBlock, 'service')
      assert.ok(services.length > 0, `${t.job} registers no service`)
      for (const s of services)
        assert.ok(blocks(s, 'check').length > 0, `${t.job}: ${String(s.name)} has no check`)
    }
  })

  test('images are pinned to versions; every task has resources', () => {
    for (const t of tasks) {
      assertPinned(t.job, String(only(t.block.config, `${t.job} config`).image))
      const r = only(t.block.resources, `${t.job} resources`)
      assert.ok(Number(r.cpu) > 0 && Number(r.memory) > 0, `${t.job}: cpu and memory`)
    }
    // One cluster node applies about 15k events/s on 2 cores: the runtime gets 2 cores per node for its threads.
    const rt = task('heatmap-runtime')
    assert.ok(Number(only(rt.block.resources, 'r').cpu) >= 1000 * Number(taskEnv(rt).HM_THREADS))
  })

  test('no secret in plain text: secrets come from Nomad variables into the secrets dir', () => {
    for (const t of tasks) {
      for (const [k, v] of Object.entries(t.env)) {
        assert.ok(!isSecretName(k), `${t.job}: ${k} is set in the job's env block`)
        assert.equal(urlPassword(v), undefined, `${t.job}: ${k} has a password in the job`)
      }
      for (const tpl of t.templates) {
        const secretLines = tpl.data
          .split('\n')
          .map((l) => l.trim())
          .filter(
            (l) => isSecretName(l.split(/[= ]/)[0] ?? '') || urlPassword(l.split('=').slice(1).join('=')),
          )
        for (const line of secretLines) {
          const value = line.includes('=')
            ? line.slice(line.indexOf('=') + 1)
            : line.split(/\s+/).slice(1).join(' ')
          const secret = urlPassword(value) ?? value
          assert.match(
            secret,
            /^\{\{ \$?[a-z]*\.[a-z_]+ \}\}$/,
            `${t.job}: ${line} is not read from a variable`,
          )
          assert.match(
            tpl.data,
            /nomadVar "nomad\/jobs"/,
            `${t.job}: secrets come from the nomad/jobs variable`,
          )
          assert.match(tpl.destination, /^secrets\//, `${t.job}: a secret rendered outside secrets/`)
        }
      }
    }
  })

  test('the Nomad Autoscaler scales the gateway on CPU and the runtime on CPU and its mailbox depth', () => {
    const checks = (job: string) => {
      const scaling = only(task(job).groupBlock.scaling, `${job} scaling`)
      assert.equal(scaling.enabled, true)
      assert.equal(Number(scaling.min), Number(task(job).groupBlock.count), `${job}: min is the job's count`)
      assert.ok(Number(scaling.max) > Number(scaling.min))
      return labelled(only(scaling.policy, `${job} policy`), 'check').map(([, c]) => c)
    }
    const cpu = (c: Block) => c.source === 'nomad-apm' && /cpu/.test(String(c.query))
    assert.ok(checks('heatmap-gateway').some(cpu), 'gateway scales on CPU')
    const runtime = checks('heatmap-runtime')
    assert.ok(runtime.some(cpu), 'runtime scales on CPU')
    const mailbox = runtime.find((c) => c.source === 'prometheus')
    assert.ok(mailbox, 'runtime scales on a Prometheus query')
    const metric = /\b(hm_[a-z_]+)\{/.exec(String(mailbox.query))?.[1]
    assert.equal(metric, 'hm_runtime_mailbox_depth')
    assert.ok(mailboxMetricExported(metric), `${metric} is not a metric the runtime exports`)
    for (const c of runtime) assert.ok(labelled(c, 'strategy').length === 1, 'each check has a strategy')
  })
})
