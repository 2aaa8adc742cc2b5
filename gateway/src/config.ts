import { resolve } from 'node:path'
import { defaultThreads } from '@hm/runtime'
import { type Static, type TSchema, Type } from '@sinclair/typebox'

const Int = (min: number, max: number, def: number | undefined, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description })
const Bool = (def: boolean, description: string) => Type.Boolean({ default: def, description })
const Url = (protocols: string[], description: string) =>
  Type.Optional(Type.String({ format: 'url', protocols, description }))
/** One URL or several, comma-separated (the seed servers of a clustered service). */
const UrlList = (protocols: string[], description: string) =>
  Type.Optional(Type.String({ format: 'url-list', protocols, description }))

/**
 * Every environment variable the platform reads. No variable set means the embedded defaults: one
 * process, ClickHouse on chDB, PostgreSQL on PGlite, the in-process transport, an in-memory cache.
 */
export const ConfigSchema = Type.Object({
  HM_HOST: Type.String({ default: '127.0.0.1', minLength: 1, description: 'Address the gateway listens on' }),
  HM_PORT: Int(0, 65535, 8080, 'Port of the gateway (console, APIs, demo site); 0 picks a free one'),
  HM_PUBLIC_URL: Url(
    ['http', 'https'],
    'URL users reach the gateway at; defaults to http://localhost:<port>',
  ),
  HM_DATA_DIR: Type.String({
    default: './data',
    minLength: 1,
    description: 'Where embedded stores keep data',
  }),
  HM_THREADS: Int(
    1,
    256,
    defaultThreads(),
    'Worker threads of the actor runtime (default: cores − 1, at least 1)',
  ),
  HM_SHARDS: Int(1, 4096, 64, 'Shard count; fixed for the life of the data (about 10× the node count)'),
  // Every flush writes one part to each table it touches, and ClickHouse merges those parts again: the
  // cost is per flush, not per event. Under the ingest bench's load chDB took 18-20% of the platform's CPU
  // samples at 1 s, 10-15% at 2 s. Heatmaps merge the cells not flushed yet and the live views stream the
  // actors' state, so neither waits for a flush; what reads ClickHouse alone (exports) lags by up to the
  // interval.
  HM_FLUSH_INTERVAL_MS: Int(50, 60_000, 2000, 'How often actors flush their deltas to ClickHouse'),
  HM_PAGE_SPLITS: Int(
    1,
    64,
    1,
    'Page actors per page, split by session, so one very busy page uses several workers; change it only while no batch is being retried (2 minutes): a retry must route as its first copy did',
  ),
  HM_NATS_URL: UrlList(
    ['nats', 'tls'],
    'NATS JetStream server(s), comma-separated: this process becomes a node of a cluster (needs HM_CLICKHOUSE_URL, HM_DATABASE_URL, HM_REDIS_URL); unset = one process, in-process transport',
  ),
  HM_NATS_REPLICAS: Int(
    1,
    5,
    1,
    'Copies JetStream keeps of the events stream and the cluster KV buckets (at most the NATS server count); set when they are first created',
  ),
  HM_ROLE: Type.Union(
    ['all', 'gateway', 'runtime'].map((l) => Type.Literal(l)),
    {
      default: 'all',
      description:
        'What this process runs: all = gateway and actors; gateway = HTTP APIs, console and ingestion, no actors; runtime = actors, with /v1/health and /metrics only. gateway and runtime need HM_NATS_URL',
    },
  ),
  HM_NATS_STREAM: Type.String({
    default: 'HM_EVENTS',
    pattern: '^[A-Za-z0-9_-]+$',
    description:
      'JetStream stream of the events (cluster mode); every node and gateway of a cluster uses the same',
  }),
  HM_CLUSTER: Type.String({
    default: 'hm',
    pattern: '^[A-Za-z0-9_-]+$',
    description: 'Cluster name: its NATS KV buckets are <name>_members and <name>_leases (cluster mode)',
  }),
  HM_NODE_ID: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_-]{1,64}$',
      description: 'This node in the cluster, stable across its restarts; unset = the host name',
    }),
  ),
  HM_LEASE_MS: Int(
    500,
    600_000,
    10_000,
    'A silent node loses its shards after this long; the same on every node (cluster mode)',
  ),
  HM_CLUSTER_OWNERSHIP_SUBJECT: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$',
      description:
        'NATS subject each node records its shard ownership changes on, in order (a JetStream stream must capture it); unset = not recorded',
    }),
  ),
  HM_HEARTBEAT_MS: Type.Optional(
    Int(
      10,
      200_000,
      undefined,
      'How often a node renews its membership and leases; at most a third of HM_LEASE_MS, unset = a fifth',
    ),
  ),
  HM_CLICKHOUSE_URL: Url(['http', 'https'], 'ClickHouse server; unset = in-process chDB'),
  HM_CLICKHOUSE_USER: Type.Optional(Type.String({ description: 'ClickHouse user' })),
  HM_CLICKHOUSE_PASSWORD: Type.Optional(Type.String({ description: 'ClickHouse password' })),
  HM_CLICKHOUSE_DATABASE: Type.String({
    default: 'heatmap',
    pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
    description: 'ClickHouse database name',
  }),
  HM_DATABASE_URL: Url(['postgres', 'postgresql'], 'PostgreSQL URL; unset = embedded PGlite'),
  HM_REDIS_URL: Url(['redis', 'rediss'], 'Redis URL; unset = in-memory cache'),
  HM_RATE_LIMIT_WINDOW_S: Int(1, 3600, 60, 'Window of the ingest rate limits, in seconds'),
  HM_RATE_LIMIT_PER_IP: Int(
    0,
    100_000_000,
    1200,
    'Ingest requests per window from one anonymised client address (a /24 or /48); 0 = no limit',
  ),
  HM_RATE_LIMIT_PER_SITE: Int(0, 100_000_000, 60_000, 'Ingest requests per window per website; 0 = no limit'),
  HM_COUNTRY_HEADER: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9-]{1,64}$',
      description: 'Header a trusted CDN sets to the visitor country (e.g. cf-ipcountry); unset = none',
    }),
  ),
  HM_TRUST_PROXY_HOPS: Int(
    0,
    16,
    0,
    'Reverse proxies in front of the gateway whose X-Forwarded-For is trusted for the client address',
  ),
  HM_AUTH_SECRET: Type.Optional(
    Type.String({
      pattern: '^.{32,}$',
      description:
        'Key that signs access tokens (32+ characters, the same on every gateway); unset = made once in the data dir',
    }),
  ),
  HM_ENCRYPTION_KEYS: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]{43}=(,[A-Za-z0-9_-]{1,32}:[A-Za-z0-9+/]{43}=)*$',
      description:
        'AES-256 keys for PII at rest, id:base64(32 bytes), comma-separated; the first encrypts, the rest only decrypt (rotation); unset = made once in the data dir',
    }),
  ),
  HM_ACCESS_TOKEN_TTL_S: Int(30, 86_400, 900, 'Lifetime of an access token, in seconds'),
  HM_REFRESH_TOKEN_TTL_S: Int(300, 31_536_000, 2_592_000, 'Lifetime of a refresh token, in seconds'),
  HM_LOGIN_MAX_FAILURES: Int(1, 1000, 5, 'Failed sign-ins of one account before it is locked'),
  HM_LOGIN_LOCKOUT_S: Int(
    1,
    86_400,
    900,
    'How long a locked account stays locked (and the window failures count in)',
  ),
  HM_LOGIN_MAX_PER_IP: Int(1, 1_000_000, 100, 'Sign-in attempts per lockout window from one client address'),
  HM_SIGNUP: Bool(true, 'Anyone may sign up (creating a new organisation); false = by invitation only'),
  HM_OPERATOR_EMAILS: Type.Optional(
    Type.String({
      pattern: '^\\s*[^\\s,@]+@[^\\s,@]+(\\s*,\\s*[^\\s,@]+@[^\\s,@]+)*\\s*$',
      description:
        'Accounts that operate the instance besides its first one (runtime dashboard, /v1/cluster), comma-separated emails; every gateway of a cluster sets the same',
    }),
  ),
  HM_DEMO: Bool(true, 'Create the demo organisation, user and website on first start'),
  HM_DEMO_TRAFFIC: Bool(true, 'Play simulated visitors against the demo site'),
  HM_DEMO_VISITORS_PER_MINUTE: Int(1, 100_000, 60, 'Rate of simulated visitors'),
  HM_SCREENSHOTS: Bool(
    true,
    'Screenshots of pages by headless Chromium behind heatmaps of sites that forbid framing; false = the frame or a blank stage only',
  ),
  HM_CHROMIUM_PATH: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "Chromium for screenshots; unset = /usr/bin/chromium if it exists, else playwright's own lookup",
    }),
  ),
  HM_SCREENSHOT_TTL_S: Int(
    60,
    2_592_000,
    86_400,
    'A screenshot is taken again when older than this, in seconds',
  ),
  HM_PAGE_PRIVATE_NETWORK: Bool(
    false,
    "Page checks and screenshots may reach private and loopback addresses, for websites whose domain is on one (intranet sites); false = public addresses and the gateway's own demo site only",
  ),
  HM_LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'Log level' },
  ),
})

export type Config = Readonly<Static<typeof ConfigSchema>> & { readonly HM_DATA_DIR_ABS: string }

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`${variable}: ${detail}`)
    this.name = 'ConfigError'
  }
}

function allowed(schema: TSchema): string {
  const s = schema as TSchema & Record<string, unknown>
  if (Array.isArray(s.anyOf))
    return `one of ${(s.anyOf as Array<{ const: string }>).map((l) => l.const).join(', ')}`
  switch (s.type) {
    case 'integer':
      return `an integer from ${s.minimum} to ${s.maximum}`
    case 'boolean':
      return 'true or false'
    default:
      if (s.format === 'url') return `a URL (${(s.protocols as string[]).map((p) => `${p}://`).join(' or ')})`
      if (s.format === 'url-list')
        return `one or more URLs, comma-separated (${(s.protocols as string[]).map((p) => `${p}://`).join(' or ')})`
      if (typeof s.pattern === 'string') return `a string matching ${s.pattern}`
      return 'a non-empty string'
  }
}

function parse(name: string, schema: TSchema, raw: string): unknown {
  const s = schema as TSchema & Record<string, unknown>
  const bad = (): never => {
    throw new ConfigError(name, `${JSON.stringify(raw)} is not allowed; expected ${allowed(schema)}`)
  }
  if (Array.isArray(s.anyOf)) {
    if (!(s.anyOf as Array<{ const: string }>).some((l) => l.const === raw)) bad()
    return raw
  }
  switch (s.type) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) bad()
      const n = Number(raw)
      if (n < (s.minimum as number) || n > (s.maximum as number)) bad()
      return n
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase()
      if (['true', '1', 'yes', 'on'].includes(v)) return true
      if (['false', '0', 'no', 'off'].includes(v)) return false
      return bad()
    }
    default: {
      if (raw.length === 0 && (s.minLength as number | undefined) !== undefined) bad()
      if (typeof s.pattern === 'string' && !new RegExp(s.pattern).test(raw)) bad()
      const urls =
        s.format === 'url' ? [raw] : s.format === 'url-list' ? raw.split(',').map((u) => u.trim()) : []
      for (const one of urls) {
        let u: URL
        try {
          u = new URL(one)
        } catch {
          return bad()
        }
        if (!(s.protocols as string[]).includes(u.protocol.slice(0, -1))) bad()
      }
      return raw
    }
  }
}

/**
 * Reads the configuration once, validates every variable against the schema, applies defaults and
 * freezes the result. A bad value throws a ConfigError naming the variable and what is allowed.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const out: Record<string, unknown> = {}
  for (const [name, schema] of Object.entries(ConfigSchema.properties)) {
    const raw = env[name]
    if (raw === undefined || raw === '') {
      const def = (schema as { default?: unknown }).default
      if (def !== undefined) out[name] = def
      continue
    }
    out[name] = parse(name, schema as TSchema, raw)
  }
  const unknown = Object.keys(env).filter((k) => k.startsWith('HM_') && !(k in ConfigSchema.properties))
  if (unknown.length > 0) {
    throw new ConfigError(
      unknown[0]!,
      `unknown variable; known ones are ${Object.keys(ConfigSchema.properties).join(', ')}`,
    )
  }
  out.HM_DATA_DIR_ABS = resolve(out.HM_DATA_DIR as string)
  return Object.freeze(out) as Config
}

/** The emails of `HM_OPERATOR_EMAILS`, lower-cased (none when unset). */
export function operatorEmails(config: Pick<Config, 'HM_OPERATOR_EMAILS'>): string[] {
  return (config.HM_OPERATOR_EMAILS ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '')
}

/** The servers of a comma-separated URL list variable (`HM_NATS_URL`). */
export function urlList(value: string): string[] {
  return value.split(',').map((u) => u.trim())
}

/** The variables with their defaults and descriptions, for the README table and deploy checks. */
export function describeConfig(): Array<{
  name: string
  default: unknown
  allowed: string
  description: string
}> {
  return Object.entries(ConfigSchema.properties).map(([name, schema]) => ({
    name,
    default: (schema as { default?: unknown }).default,
    allowed: allowed(schema as TSchema),
    description: (schema as { description?: string }).description ?? '',
  }))
}
