import { A, useNavigate } from '@solidjs/router'
import { createResource, createSignal, For, Show } from 'solid-js'
import { api, errorText } from '../../api/client'
import type { Website } from '../../api/types'
import { useAuth } from '../../auth/context'
import { Guard } from '../../auth/guard'
import { TableWrap } from '../../components/table-wrap'

function SiteList() {
  const auth = useAuth()
  const navigate = useNavigate()
  const [sites] = createResource(() => api<Website[]>('/v1/sites'))
  const [error, setError] = createSignal<string>()
  const [busy, setBusy] = createSignal(false)

  const create = async (e: SubmitEvent) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    setBusy(true)
    setError(undefined)
    try {
      const site = await api<Website>('/v1/sites', {
        method: 'POST',
        body: { name: String(form.get('name')), domain: String(form.get('domain')) },
      })
      navigate(`/sites/${site.id}`)
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section aria-labelledby="sites-title">
      <h1 id="sites-title">Sites</h1>
      <Show when={sites.error}>
        <p class="error" role="alert">
          {errorText(sites.error)}
        </p>
      </Show>
      <Show when={sites()} fallback={<p class="muted">Loading sites…</p>}>
        {(list) => (
          <Show when={list().length > 0} fallback={<p>No sites yet.</p>}>
            <TableWrap label="Table of sites">
              <table class="sites">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Domain</th>
                    <th scope="col">Added</th>
                    <th scope="col">
                      <span class="visually-hidden">Open</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={list()}>
                    {(s) => (
                      <tr>
                        <th scope="row">
                          <A href={`/sites/${s.id}`}>{s.name}</A>
                        </th>
                        <td>{s.domain}</td>
                        <td>
                          <time datetime={s.createdAt}>{new Date(s.createdAt).toLocaleDateString()}</time>
                        </td>
                        <td class="actions">
                          <Show when={auth.can('heatmaps:read')}>
                            <A
                              href={`/sites/${s.id}/heatmap`}
                              class="button"
                              aria-label={`Heatmaps of ${s.name}`}
                            >
                              Heatmaps
                            </A>
                          </Show>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </TableWrap>
          </Show>
        )}
      </Show>
      <Show when={auth.can('sites:write')}>
        <form class="inline-form" onSubmit={create} aria-labelledby="new-site-title">
          <h2 id="new-site-title">Add a site</h2>
          <label>
            Name
            <input name="name" required maxLength={200} placeholder="Shop" />
          </label>
          <label>
            Domain
            <input name="domain" required maxLength={253} placeholder="shop.example" />
          </label>
          <button type="submit" class="primary" disabled={busy()}>
            Add site
          </button>
          <Show when={error()}>
            <p class="error" role="alert">
              {error()}
            </p>
          </Show>
        </form>
      </Show>
    </section>
  )
}

export default function Sites() {
  return (
    <Guard permission="sites:read">
      <SiteList />
    </Guard>
  )
}
