import type pg from 'pg'
import type { FieldCipher } from '../auth/field-cipher.ts'
import { anonymiseIp } from '../ingest/ip.ts'
import type { VisitorStore } from './visitor-stores.ts'

/** Records a visitor's consent decision; the address is anonymised (or dropped) and both PII fields encrypted. */
export async function recordConsent(
  pool: pg.Pool,
  cipher: FieldCipher,
  c: {
    siteId: string
    visitorId: string
    granted: boolean
    source: 'sdk' | 'api'
    ip: string | undefined
    userAgent: string | undefined
    ipHandling: 'anonymize' | 'discard'
  },
): Promise<void> {
  const ip = c.ipHandling === 'discard' || c.ip === undefined ? null : anonymiseIp(c.ip)
  await pool.query(
    `INSERT INTO consent_records (site_id, visitor_id, granted, source, ip_enc, user_agent_enc)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      c.siteId,
      c.visitorId,
      c.granted,
      c.source,
      cipher.encryptOpt('consent_records.ip', ip),
      cipher.encryptOpt('consent_records.user_agent', c.userAgent?.slice(0, 512)),
    ],
  )
}

export interface DeletionStatus {
  id: string
  siteId: string
  visitorId: string
  status: 'pending' | 'done' | 'failed'
  stores: Record<string, Record<string, number>>
  error: string | null
  createdAt: string
  completedAt: string | null
}

// biome-ignore lint/suspicious/noExplicitAny: a row straight from pg
const toStatus = (r: any): DeletionStatus => ({
  id: r.id,
  siteId: r.site_id,
  visitorId: r.visitor_id,
  status: r.status,
  stores: r.stores,
  error: r.error,
  createdAt: r.created_at.toISOString(),
  completedAt: r.completed_at?.toISOString() ?? null,
})

export async function deletionStatus(
  pool: pg.Pool,
  orgId: string,
  id: string,
): Promise<DeletionStatus | undefined> {
  const { rows } = await pool.query('SELECT * FROM visitor_deletions WHERE id = $1 AND org_id = $2', [
    id,
    orgId,
  ])
  return rows[0] && toStatus(rows[0])
}

/**
 * Deletes a visitor's data from every store. The request is recorded first (pending), each store's
 * result is recorded as it finishes, and a failure leaves the request `failed` with the error, so it can
 * be seen and asked again.
 */
export class VisitorDeletions {
  private readonly running = new Set<Promise<void>>()

  constructor(
    private readonly pool: pg.Pool,
    private readonly stores: VisitorStore[],
    private readonly onError: (err: unknown) => void,
  ) {}

  async request(d: {
    orgId: string
    siteId: string
    visitorId: string
    requestedBy: string | null
  }): Promise<DeletionStatus> {
    const { rows } = await this.pool.query(
      `INSERT INTO visitor_deletions (org_id, site_id, visitor_id, status, requested_by)
       VALUES ($1, $2, $3, 'pending', $4) RETURNING *`,
      [d.orgId, d.siteId, d.visitorId, d.requestedBy],
    )
    const status = toStatus(rows[0])
    const run = this.run(status).catch(this.onError)
    this.running.add(run)
    void run.finally(() => this.running.delete(run))
    return status
  }

  private async run(s: DeletionStatus): Promise<void> {
    const done: Record<string, Record<string, number>> = {}
    try {
      for (const store of this.stores) {
        done[store.name] = await store.erase(s.siteId, s.visitorId)
        await this.pool.query('UPDATE visitor_deletions SET stores = $1 WHERE id = $2', [
          JSON.stringify(done),
          s.id,
        ])
      }
      await this.pool.query(
        "UPDATE visitor_deletions SET status = 'done', stores = $1, completed_at = now() WHERE id = $2",
        [JSON.stringify(done), s.id],
      )
    } catch (e) {
      await this.pool.query(
        "UPDATE visitor_deletions SET status = 'failed', stores = $1, error = $2, completed_at = now() WHERE id = $3",
        [JSON.stringify(done), String((e as Error).message ?? e).slice(0, 1000), s.id],
      )
      throw e
    }
  }

  /** Waits for deletions under way (shutdown). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.running])
  }
}

/**
 * Drops what PostgreSQL holds past its time: consent records older than their site's retention, spent
 * or expired sign-in and reset tokens, invitations a month after they ended. Returns rows removed.
 */
export async function enforceRetention(pool: pg.Pool): Promise<number> {
  const statements = [
    `DELETE FROM consent_records c USING websites w
     WHERE c.site_id = w.id AND c.created_at < now() - make_interval(days => w.retention_days)`,
    `DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'`,
    `DELETE FROM password_resets WHERE expires_at < now() - interval '1 day'`,
    `DELETE FROM invitations WHERE expires_at < now() - interval '30 days'`,
  ]
  let removed = 0
  for (const sql of statements) removed += (await pool.query(sql)).rowCount ?? 0
  return removed
}
