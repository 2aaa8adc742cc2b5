import type pg from 'pg'
import type { VisitorStore } from './visitor-stores.ts'

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
