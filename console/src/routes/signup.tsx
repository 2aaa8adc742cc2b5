import { A, useNavigate } from '@solidjs/router'
import { createSignal, Show } from 'solid-js'
import { errorText } from '../api/client'
import { signUp } from '../auth/session'

export default function Signup() {
  const navigate = useNavigate()
  const [error, setError] = createSignal<string>()
  const [busy, setBusy] = createSignal(false)

  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    setBusy(true)
    setError(undefined)
    try {
      await signUp({
        email: String(form.get('email')),
        name: String(form.get('name')),
        password: String(form.get('password')),
        organization: String(form.get('organization')),
      })
      navigate('/sites', { replace: true })
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section class="auth-card" aria-labelledby="signup-title">
      <h1 id="signup-title">Create an account</h1>
      <p class="muted">You become the owner of a new organisation.</p>
      <form onSubmit={submit}>
        <label>
          Your name
          <input name="name" autocomplete="name" required maxLength={200} />
        </label>
        <label>
          Email
          <input name="email" type="email" autocomplete="email" required />
        </label>
        <label>
          Password <span class="hint">(10 characters or more)</span>
          <input name="password" type="password" autocomplete="new-password" required minLength={10} />
        </label>
        <label>
          Organisation
          <input name="organization" autocomplete="organization" required maxLength={200} />
        </label>
        <Show when={error()}>
          <p class="error" role="alert">
            {error()}
          </p>
        </Show>
        <button type="submit" class="primary" disabled={busy()}>
          {busy() ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p class="muted">
        Have an account? <A href="/login">Sign in</A>
      </p>
    </section>
  )
}
