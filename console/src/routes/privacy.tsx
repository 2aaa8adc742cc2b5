import { createEffect, createResource, createSignal, For, onCleanup, Show } from 'solid-js'
import { api, errorText } from '../api/client'
import type { ConsentPage, ConsentRecord, Deletion, VisitorExport, Website } from '../api/types'
import { useAuth } from '../auth/context'
import { Guard } from '../auth/guard'
import { TableWrap } from '../components/table-wrap'

const POLL_MS = 1000

/** Rows per store and table of an export or a deletion, as `store.table: n` lines. */
function counts(stores: Record<string, Record<string, number | unknown[]>>): Array<[string, number]> {
  return Object.entries(stores).flatMap(([store, tables]) =>
    Object.entries(tables).map(([table, v]): [string, number] => [
      `${store}.${table}`,
      Array.isArray(v) ? v.length : v,
    ]),
  )
}

/**
 * Data-subject requests: everything stored about a visitor id (to hand over as JSON), and deleting it
 * from every store, with the status of the deletion as the gateway reports it.
 */
function Requests() {
  const auth = useAuth()
  const [sites] = createResource(() => api<Website[]>('/v1/sites'))
  const [error, setError] = createSignal<string>()
  const [exported, setExported] = createSignal<VisitorExport>()
  const [deletion, setDeletion] = createSignal<Deletion>()
  const [busy, setBusy] = createSignal(false)
  let form!: HTMLFormElement
  let poll: ReturnType<typeof setTimeout> | undefined
  onCleanup(() => clearTimeout(poll))

  const target = () => {
    const f = new FormData(form)
    return { siteId: String(f.get('site')), visitorId: String(f.get('visitor')).trim() }
  }
  const run = async (fn: () => Promise<void>) => {
    if (!form.reportValidity()) return
    setBusy(true)
    setError(undefined)
    try {
      await fn()
    } catch (e) {
      setError(errorText(e))
    } finally {
      setBusy(false)
    }
  }
  const lookUp = () =>
    run(async () => {
      const t = target()
      setDeletion(undefined)
      setExported(
        await api<VisitorExport>(
          `/v1/sites/${encodeURIComponent(t.siteId)}/visitors/${encodeURIComponent(t.visitorId)}`,
        ),
      )
    })
  const follow = (d: Deletion) => {
    setDeletion(d)
    if (d.status !== 'pending') return
    poll = setTimeout(() => {
      api<Deletion>(`/v1/deletions/${d.id}`).then(follow, (e: unknown) => setError(errorText(e)))
    }, POLL_MS)
  }
  const erase = () =>
    run(async () => {
      const t = target()
      if (!confirm(`Delete everything stored about visitor ${t.visitorId}? This cannot be undone.`)) return
      setExported(undefined)
      follow(
        await api<Deletion>(
          `/v1/sites/${encodeURIComponent(t.siteId)}/visitors/${encodeURIComponent(t.visitorId)}`,
          { method: 'DELETE' },
        ),
      )
    })
  const download = (x: VisitorExport) =>
    URL.createObjectURL(new Blob([JSON.stringify(x, null, 2)], { type: 'application/json' }))

  return (
    <section aria-labelledby="privacy-title">
      <h1 id="privacy-title">Privacy requests</h1>
      <p class="muted">
        A visitor asking what you hold about them, or to be forgotten, gives the visitor id the SDK stored in
        their browser.
      </p>
      <form ref={form} class="inline-form" onSubmit={(e) => e.preventDefault()} aria-label="Visitor">
        <label>
          Site
          <select name="site" required>
            <For each={sites()}>{(s) => <option value={s.id}>{s.name}</option>}</For>
          </select>
        </label>
        <label>
          Visitor id
          <input name="visitor" required maxLength={128} />
        </label>
        <button type="button" disabled={busy()} onClick={() => void lookUp()}>
          Export
        </button>
        <Show when={auth.can('privacy:write')}>
          <button type="button" class="danger" disabled={busy()} onClick={() => void erase()}>
            Delete everywhere
          </button>
        </Show>
      </form>
      <Show when={error()}>
        <p class="error" role="alert">
          {error()}
        </p>
      </Show>
      <Show when={exported()}>
        {(x) => (
          <div aria-live="polite">
            <h2>Stored about {x().visitorId}</h2>
            <ul data-testid="export-counts">
              <For each={counts(x().stores)}>
                {([where, n]) => (
                  <li>
                    {where}: {n} {n === 1 ? 'row' : 'rows'}
                  </li>
                )}
              </For>
            </ul>
            <a class="button" href={download(x())} download={`visitor-${x().visitorId}.json`}>
              Download JSON
            </a>
          </div>
        )}
      </Show>
      <Show when={deletion()}>
        {(d) => (
          <div aria-live="polite">
            <h2>
              Deletion of {d().visitorId}: <span data-testid="deletion-status">{d().status}</span>
            </h2>
            <Show when={d().error}>
              <p class="error">{d().error}</p>
            </Show>
            <ul>
              <For each={counts(d().stores)}>
                {([where, n]) => (
                  <li>
                    {where}: {n} removed
                  </li>
                )}
              </For>
            </ul>
          </div>
        )}
      </Show>
    </section>
  )
}

const CONSENT_PAGE = 50

/**
 * The consent log of a site: visitors' decisions, newest first, optionally of one visitor. Addresses and
 * user agents show for roles that answer data-subject requests (privacy:write); the gateway withholds
 * them from the others.
 */
function ConsentLog() {
  const [sites] = createResource(() => api<Website[]>('/v1/sites'))
  const [query, setQuery] = createSignal<{ siteId: string; visitorId?: string }>()
  const [records, setRecords] = createSignal<ConsentRecord[]>([])
  const [page, setPage] = createSignal<ConsentPage>()
  const [error, setError] = createSignal<string>()
  const [busy, setBusy] = createSignal(false)

  const load = async (q: { siteId: string; visitorId?: string }, before?: number) => {
    setBusy(true)
    setError(undefined)
    try {
      const p = await api<ConsentPage>(`/v1/sites/${encodeURIComponent(q.siteId)}/consent`, {
        query: { visitorId: q.visitorId, before, limit: CONSENT_PAGE },
      })
      setRecords((r) => (before === undefined ? p.records : [...r, ...p.records]))
      setPage(p)
    } catch (e) {
      setError(errorText(e))
    } finally {
      setBusy(false)
    }
  }
  const show = (e: SubmitEvent) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    const visitor = String(f.get('visitor') ?? '').trim()
    const q = { siteId: String(f.get('site')), ...(visitor !== '' ? { visitorId: visitor } : {}) }
    setQuery(q)
    void load(q)
  }
  // The first site's log as soon as the sites are known.
  createEffect(() => {
    const first = sites()?.[0]
    if (first !== undefined && query() === undefined) {
      const q = { siteId: first.id }
      setQuery(q)
      void load(q)
    }
  })

  return (
    <section class="consent-log" aria-labelledby="consent-title">
      <h2 id="consent-title">Consent log</h2>
      <form class="inline-form" onSubmit={show} aria-label="Consent log filter">
        {/* Not wrapping the select: a label's name would take in the site names of its options. */}
        <div class="field">
          <label for="consent-site">Decisions on</label>
          <select id="consent-site" name="site" required>
            <For each={sites()}>{(s) => <option value={s.id}>{s.name}</option>}</For>
          </select>
        </div>
        <label>
          Only this visitor
          <input name="visitor" maxLength={128} placeholder="every visitor" />
        </label>
        <button type="submit" disabled={busy()}>
          Show
        </button>
      </form>
      <Show when={error()}>
        <p class="error" role="alert">
          {error()}
        </p>
      </Show>
      <Show when={page()?.personalData === 'withheld'}>
        <p class="muted">Addresses and user agents are shown to owners and admins only.</p>
      </Show>
      <Show when={page()}>
        <TableWrap label="Table of consent decisions">
          <table data-testid="consent-log">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Visitor</th>
                <th scope="col">Decision</th>
                <th scope="col">From</th>
                <th scope="col">Address</th>
                <th scope="col">User agent</th>
              </tr>
            </thead>
            <tbody>
              <For
                each={records()}
                fallback={
                  <tr>
                    <td colSpan={6} class="muted">
                      No consent recorded{query()?.visitorId ? ' for this visitor' : ''}.
                    </td>
                  </tr>
                }
              >
                {(r) => (
                  <tr data-testid="consent-row" data-visitor={r.visitorId}>
                    <td>
                      <time datetime={r.at}>{new Date(r.at).toLocaleString()}</time>
                    </td>
                    <td>
                      <code>{r.visitorId}</code>
                    </td>
                    <td data-col="decision">{r.granted ? 'granted' : 'refused'}</td>
                    <td>{r.source === 'sdk' ? 'website' : 'API'}</td>
                    <td data-col="ip">{r.ip ?? '—'}</td>
                    <td class="ua">{r.userAgent ?? '—'}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </TableWrap>
        <Show when={page()?.nextBefore}>
          {(before) => (
            <button type="button" disabled={busy()} onClick={() => void load(query()!, before())}>
              Older decisions
            </button>
          )}
        </Show>
      </Show>
    </section>
  )
}

export default function Privacy() {
  return (
    <Guard permission="privacy:read">
      <Requests />
      <ConsentLog />
    </Guard>
  )
}
