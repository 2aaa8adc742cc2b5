import { createResource, createSignal, For, Show } from 'solid-js'
import { api, errorText } from '../api/client'
import type { AuditEntry } from '../api/types'
import { Guard } from '../auth/guard'
import { TableWrap } from '../components/table-wrap'

const PAGE = 100

function AuditLog() {
  const [before, setBefore] = createSignal<number>()
  const [entries] = createResource(
    () => ({ before: before() }),
    (q) => api<{ entries: AuditEntry[] }>('/v1/audit', { query: { limit: PAGE, before: q.before } }),
  )
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <Show when={entries.error}>
        <p class="error" role="alert">
          {errorText(entries.error)}
        </p>
      </Show>
      <Show when={entries()} fallback={<p class="muted">Loading…</p>}>
        {(page) => (
          <>
            <TableWrap label="Table of audit entries">
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">Status</th>
                    <th scope="col">Who</th>
                    <th scope="col">Target</th>
                    <th scope="col">From</th>
                  </tr>
                </thead>
                <tbody>
                  <For each={page().entries}>
                    {(e) => (
                      <tr classList={{ refused: e.status >= 400 }}>
                        <td>
                          <time datetime={e.at}>{new Date(e.at).toLocaleString()}</time>
                        </td>
                        <td>
                          <code>{e.action}</code>
                        </td>
                        <td>{e.status}</td>
                        <td>{e.actorUserId ?? (e.actorApiKeyId ? `key ${e.actorApiKeyId}` : '—')}</td>
                        <td>{e.target ?? '—'}</td>
                        <td>{e.ip ?? '—'}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </TableWrap>
            <Show when={page().entries.length === PAGE}>
              <button type="button" onClick={() => setBefore(page().entries.at(-1)?.id)}>
                Older entries
              </button>
            </Show>
          </>
        )}
      </Show>
    </section>
  )
}

export default function Audit() {
  return (
    <Guard permission="audit:read">
      <AuditLog />
    </Guard>
  )
}
