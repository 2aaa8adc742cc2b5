import { createResource, createSignal, For, onCleanup, Show } from 'solid-js'
import { api, errorText } from '../api/client'
import type { Deletion, VisitorExport, Website } from '../api/types'
import { useAuth } from '../auth/context'
import { Guard } from '../auth/guard'

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

export default function Privacy() {
  return (
    <Guard permission="privacy:read">
      <Requests />
    </Guard>
  )
}
