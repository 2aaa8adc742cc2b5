import { A, useNavigate } from '@solidjs/router'
import { createSignal, Show } from 'solid-js'
import { errorText } from '../api/client'
import { acceptInvitation } from '../auth/session'

/** The token of a link from a mail: it rides in the fragment, which never reaches a server's logs. */
export const fragmentToken = (): string => decodeURIComponent(location.hash.replace(/^#/, ''))

/**
 * `…/accept-invitation#<token>` (the link in an invitation mail): joins the organisation. With an
 * account already, its password signs in; without, the name and password create it.
 */
export default function AcceptInvitation() {
  const navigate = useNavigate()
  const token = fragmentToken()
  const [error, setError] = createSignal<string>()
  const [busy, setBusy] = createSignal(false)

  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    const name = String(form.get('name') ?? '').trim()
    setBusy(true)
    setError(undefined)
    try {
      await acceptInvitation({ token, password: String(form.get('password')), ...(name ? { name } : {}) })
      navigate('/sites', { replace: true })
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section class="auth-card" aria-labelledby="accept-title">
      <h1 id="accept-title">Join the organisation</h1>
      <Show
        when={token !== ''}
        fallback={
          <p class="error" role="alert">
            This link has no invitation in it. Open the link from the invitation mail again.
          </p>
        }
      >
        <p class="muted">
          New here? Give your name and choose a password. Have an account with this email? Its password is
          enough.
        </p>
        <form onSubmit={submit}>
          <label>
            Your name <span class="hint">(new accounts)</span>
            <input name="name" autocomplete="name" maxLength={200} />
          </label>
          <label>
            Password <span class="hint">(10 characters or more for a new account)</span>
            <input name="password" type="password" autocomplete="new-password" required />
          </label>
          <Show when={error()}>
            <p class="error" role="alert">
              {error()}
            </p>
          </Show>
          <button type="submit" class="primary" disabled={busy()}>
            Join
          </button>
        </form>
      </Show>
      <p class="muted">
        <A href="/login">Sign in instead</A>
      </p>
    </section>
  )
}
