import { createResource, createSignal, For, Show } from 'solid-js'
import { api, errorText } from '../api/client'
import { assignableRoles, type Invitation, type Member, type Role } from '../api/types'
import { useAuth } from '../auth/context'
import { Guard } from '../auth/guard'
import { TableWrap } from '../components/table-wrap'

function MemberList() {
  const auth = useAuth()
  const [members, { refetch }] = createResource(() => api<Member[]>('/v1/members'))
  const [invitations, invites] = createResource(() => api<Invitation[]>('/v1/invitations'))
  const [error, setError] = createSignal<string>()
  const [link, setLink] = createSignal<string>()
  const me = () => auth.me.latest
  /** Roles this member may hand out; empty without members:write. */
  const grantable = (): readonly Role[] =>
    auth.can('members:write') && me() !== undefined ? assignableRoles[me()!.role] : []
  const manages = (m: Member) => m.userId !== me()?.id && grantable().includes(m.role)

  const run = async (fn: () => Promise<unknown>) => {
    setError(undefined)
    try {
      await fn()
    } catch (e) {
      setError(errorText(e))
    }
  }
  const changeRole = (m: Member, role: Role) =>
    run(async () => {
      await api(`/v1/members/${m.userId}`, { method: 'PATCH', body: { role } })
      await refetch()
    })
  const remove = (m: Member) =>
    run(async () => {
      if (!confirm(`Remove ${m.name} (${m.email}) from the organisation?`)) return
      await api(`/v1/members/${m.userId}`, { method: 'DELETE' })
      await refetch()
    })
  const invite = (e: SubmitEvent) => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const data = new FormData(form)
    return run(async () => {
      const r = await api<{ link: string }>('/v1/invitations', {
        method: 'POST',
        body: { email: String(data.get('email')), role: String(data.get('role')) },
      })
      setLink(r.link)
      form.reset()
      await invites.refetch()
    })
  }
  const revoke = (i: Invitation) =>
    run(async () => {
      await api(`/v1/invitations/${i.id}`, { method: 'DELETE' })
      await invites.refetch()
    })

  return (
    <section aria-labelledby="members-title">
      <h1 id="members-title">Members</h1>
      <Show when={members.error}>
        <p class="error" role="alert">
          {errorText(members.error)}
        </p>
      </Show>
      <Show when={error()}>
        <p class="error" role="alert">
          {error()}
        </p>
      </Show>
      <Show when={members()} fallback={<p class="muted">Loading members…</p>}>
        {(list) => (
          <TableWrap label="Table of members">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Two-factor</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                <For each={list()}>
                  {(m) => (
                    <tr>
                      <th scope="row">{m.name}</th>
                      <td>{m.email}</td>
                      <td>
                        <Show when={manages(m)} fallback={m.role}>
                          <select
                            aria-label={`Role of ${m.name}`}
                            value={m.role}
                            onChange={(e) => void changeRole(m, e.currentTarget.value as Role)}
                          >
                            <For each={grantable()}>{(r) => <option value={r}>{r}</option>}</For>
                          </select>
                        </Show>
                      </td>
                      <td>{m.mfaEnabled ? 'on' : 'off'}</td>
                      <td class="actions">
                        <Show when={manages(m)}>
                          <button
                            type="button"
                            onClick={() => void remove(m)}
                            aria-label={`Remove ${m.name}`}
                          >
                            Remove
                          </button>
                        </Show>
                      </td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </TableWrap>
        )}
      </Show>

      <Show when={grantable().length > 0}>
        <form class="inline-form" onSubmit={invite} aria-labelledby="invite-title">
          <h2 id="invite-title">Invite someone</h2>
          <label>
            Email
            <input name="email" type="email" required />
          </label>
          <label>
            Role
            <select name="role">
              <For each={grantable()}>{(r) => <option value={r}>{r}</option>}</For>
            </select>
          </label>
          <button type="submit" class="primary">
            Invite
          </button>
        </form>
        <Show when={link()}>
          <p aria-live="polite">
            Invitation sent. Its link, valid 7 days: <code data-testid="invitation-link">{link()}</code>
          </p>
        </Show>
      </Show>

      <Show when={(invitations() ?? []).length > 0}>
        <h2>Invitations</h2>
        <TableWrap label="Table of invitations">
          <table>
            <thead>
              <tr>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={invitations()}>
                {(i) => (
                  <tr>
                    <th scope="row">{i.email}</th>
                    <td>{i.role}</td>
                    <td>{i.status}</td>
                    <td>
                      <time datetime={i.expiresAt}>{new Date(i.expiresAt).toLocaleDateString()}</time>
                    </td>
                    <td class="actions">
                      <Show when={i.status === 'pending' && grantable().includes(i.role)}>
                        <button type="button" onClick={() => void revoke(i)}>
                          Revoke
                        </button>
                      </Show>
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </TableWrap>
      </Show>
    </section>
  )
}

export default function Members() {
  return (
    <Guard permission="members:read">
      <MemberList />
    </Guard>
  )
}
