import type pg from 'pg'

interface Migration {
  version: number
  name: string
  sql: string
}

/** Versioned, append-only: never edit an applied migration, add the next version. */
const migrations: Migration[] = [
  {
    version: 1,
    name: 'organisations, users, websites, API keys',
    sql: `
      CREATE TABLE organizations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text NOT NULL UNIQUE,
        name text NOT NULL,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE memberships (
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'analyst', 'viewer')),
        PRIMARY KEY (org_id, user_id)
      );
      CREATE TABLE websites (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name text NOT NULL,
        domain text NOT NULL,
        site_key text NOT NULL UNIQUE,
        allowed_origins text[] NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX websites_org ON websites(org_id);
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        name text NOT NULL,
        prefix text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      );
    `,
  },
  {
    version: 2,
    name: 'auth: refresh-token families, MFA, password resets, scoped API keys, invitations, audit log',
    sql: `
      ALTER TABLE users ADD COLUMN mfa_secret text;
      ALTER TABLE users ADD COLUMN mfa_enabled boolean NOT NULL DEFAULT false;
      ALTER TABLE users ADD COLUMN mfa_last_step bigint;
      ALTER TABLE users ADD COLUMN password_changed_at timestamptz NOT NULL DEFAULT now();
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        family_id uuid NOT NULL,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        token_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        revoked_at timestamptz
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
      CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
      CREATE TABLE password_resets (
        token_hash text PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz
      );
      ALTER TABLE api_keys ADD COLUMN scopes text[] NOT NULL
        DEFAULT '{heatmaps:read,sessions:read,heatmaps:export}';
      ALTER TABLE api_keys ADD COLUMN created_by uuid REFERENCES users(id) ON DELETE SET NULL;
      ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
      CREATE INDEX api_keys_org ON api_keys(org_id);
      CREATE TABLE invitations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        email_hash text NOT NULL,
        email_enc text NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'manager', 'analyst', 'viewer')),
        token_hash text NOT NULL UNIQUE,
        invited_by uuid REFERENCES users(id) ON DELETE SET NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        accepted_at timestamptz,
        revoked_at timestamptz
      );
      CREATE INDEX invitations_org ON invitations(org_id);
      CREATE TABLE audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        org_id uuid REFERENCES organizations(id) ON DELETE CASCADE,
        actor_user_id uuid,
        actor_api_key_id uuid,
        action text NOT NULL,
        target text,
        status integer NOT NULL,
        ip text,
        user_agent text,
        details jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX audit_log_org ON audit_log(org_id, id DESC);
    `,
  },
  {
    version: 3,
    name: 'privacy: per-site settings, consent records, visitor deletions',
    sql: `
      ALTER TABLE websites ADD COLUMN consent_required boolean NOT NULL DEFAULT false;
      ALTER TABLE websites ADD COLUMN masking text NOT NULL DEFAULT 'standard'
        CHECK (masking IN ('standard', 'strict'));
      ALTER TABLE websites ADD COLUMN ip_handling text NOT NULL DEFAULT 'anonymize'
        CHECK (ip_handling IN ('anonymize', 'discard'));
      ALTER TABLE websites ADD COLUMN retention_days integer NOT NULL DEFAULT 395
        CHECK (retention_days BETWEEN 1 AND 3650);
      ALTER TABLE websites ADD COLUMN url_rules jsonb NOT NULL DEFAULT '{}';
      ALTER TABLE websites ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
      CREATE TABLE consent_records (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        site_id uuid NOT NULL REFERENCES websites(id) ON DELETE CASCADE,
        visitor_id text NOT NULL,
        granted boolean NOT NULL,
        source text NOT NULL CHECK (source IN ('sdk', 'api')),
        ip_enc text,
        user_agent_enc text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX consent_records_visitor ON consent_records(site_id, visitor_id);
      CREATE TABLE visitor_deletions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        org_id uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
        site_id uuid NOT NULL REFERENCES websites(id) ON DELETE CASCADE,
        visitor_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
        stores jsonb NOT NULL DEFAULT '{}',
        error text,
        requested_by uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz
      );
    `,
  },
  {
    version: 4,
    name: 'instance operators (the first account, HM_OPERATOR_EMAILS); the consent log by site, newest first',
    sql: `
      ALTER TABLE users ADD COLUMN is_operator boolean NOT NULL DEFAULT false;
      -- An instance upgraded to this version: its first account operates it, as a new instance's would.
      UPDATE users SET is_operator = true WHERE id = (SELECT id FROM users ORDER BY created_at, id LIMIT 1);
      -- In the database rather than in each code path that creates accounts (sign-up, the demo, invitations),
      -- so whichever comes first is the operator; the lock makes two first sign-ups at once take turns.
      CREATE FUNCTION hm_first_user_operates() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NOT EXISTS (SELECT 1 FROM users) THEN
          PERFORM pg_advisory_xact_lock(726355);
          IF NOT EXISTS (SELECT 1 FROM users) THEN NEW.is_operator := true; END IF;
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER users_first_operates BEFORE INSERT ON users
        FOR EACH ROW EXECUTE FUNCTION hm_first_user_operates();
      -- HM_OPERATOR_EMAILS as the gateway last started with it (replaced at each start).
      CREATE TABLE operator_emails (email text PRIMARY KEY);
      CREATE INDEX consent_records_site ON consent_records(site_id, id DESC);
    `,
  },
  {
    version: 5,
    name: 'screenshots of pages behind heatmaps, by site, url and width',
    sql: `
      CREATE TABLE page_screenshots (
        site_id uuid NOT NULL REFERENCES websites(id) ON DELETE CASCADE,
        url text NOT NULL,
        width integer NOT NULL,
        png bytea NOT NULL,
        page_height integer NOT NULL,
        captured_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (site_id, url, width)
      );
      CREATE INDEX page_screenshots_captured ON page_screenshots(captured_at);
    `,
  },
]

/**
 * Runs of one pool, one after another. The advisory lock below serialises gateways on a server, but PGlite
 * serves every socket connection from one session, where the lock is re-entrant and guards nothing.
 */
const queues = new WeakMap<pg.Pool, Promise<unknown>>()

/**
 * Applies pending migrations (up to `upTo`, for upgrade tests) in one transaction each, under an advisory
 * lock (several gateways may start at once).
 */
export function migratePostgres(pool: pg.Pool, options: { upTo?: number } = {}): Promise<number[]> {
  const run = (queues.get(pool) ?? Promise.resolve()).catch(() => {}).then(() => migrateLocked(pool, options))
  queues.set(pool, run)
  return run
}

async function migrateLocked(pool: pg.Pool, options: { upTo?: number }): Promise<number[]> {
  const client = await pool.connect()
  const applied: number[] = []
  try {
    await client.query('SELECT pg_advisory_lock(726354)')
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations')
    const done = new Set(rows.map((r) => r.version))
    for (const m of migrations) {
      if (done.has(m.version) || m.version > (options.upTo ?? Number.POSITIVE_INFINITY)) continue
      await client.query('BEGIN')
      try {
        await client.query(m.sql)
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          m.version,
          m.name,
        ])
        await client.query('COMMIT')
      } catch (e) {
        await client.query('ROLLBACK')
        throw e
      }
      applied.push(m.version)
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(726354)').catch(() => {})
    client.release()
  }
  return applied
}
