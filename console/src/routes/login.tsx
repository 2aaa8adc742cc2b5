import { A, useNavigate, useSearchParams } from '@solidjs/router'
import { createSignal, Show } from 'solid-js'
import { ApiError, errorText } from '../api/client'
import { signIn } from '../auth/session'

/** Where to go after signing in: the page that sent the user here, if it is a console path. */
export function afterSignIn(next: string | string[] | undefined): string {
  const n = Array.isArray(next) ? next[0] : next
  return n?.startsWith('/') && !n.startsWith('//') ? n : '/sites'
}

export default function Login() {
  const [params] = useSearchParams()
  const navigate = useNavigate()
  const [error, setError] = createSignal<string>()
  const [needTotp, setNeedTotp] = createSignal(false)
  const [busy, setBusy] = createSignal(false)
  let codeInput: HTMLInputElement | undefined

  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    setBusy(true)
    setError(undefined)
    try {
      await signIn(String(form.get('email')), String(form.get('password')), String(form.get('totp') ?? ''))
      navigate(afterSignIn(params.next), { replace: true })
    } catch (err) {
      if (err instanceof ApiError && err.code === 'HM_ERR_AUTH_MFA_REQUIRED') {
        setNeedTotp(true)
        setError('Two-step sign-in is on for this account: enter the code from your authenticator app.')
        codeInput?.focus()
      } else if (err instanceof ApiError && err.retryAfterS !== undefined) {
        setError(`${err.message} Try again in ${Math.ceil(err.retryAfterS / 60)} min.`)
      } else setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section class="auth-card" aria-labelledby="login-title">
      <h1 id="login-title">Sign in</h1>
      <form onSubmit={submit}>
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" required minLength={1} />
        </label>
        <Show when={needTotp()}>
          <label>
            One-time code
            <input
              ref={codeInput}
              name="totp"
              inputMode="numeric"
              autocomplete="one-time-code"
              pattern="[0-9]{6}"
              required
            />
          </label>
        </Show>
        <Show when={error()}>
          <p class="error" role="alert">
            {error()}
          </p>
        </Show>
        <button type="submit" class="primary" disabled={busy()}>
          {busy() ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p class="muted">
        <A href="/reset-password">Forgot your password?</A> · No account? <A href="/signup">Create one</A>
      </p>
    </section>
  )
}
