import { A } from '@solidjs/router'
import { createSignal, Show } from 'solid-js'
import { errorText, requestJson } from '../api/client'
import { fragmentToken } from './accept-invitation'

/**
 * Without a token: asks for the email to send a reset link to. With one (`…/reset-password#<token>`,
 * the link in the mail): sets the new password; every sign-in of the account ends.
 */
export default function ResetPassword() {
  const token = fragmentToken()
  const [error, setError] = createSignal<string>()
  const [done, setDone] = createSignal<string>()
  const [busy, setBusy] = createSignal(false)

  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    const form = new FormData(e.currentTarget as HTMLFormElement)
    setBusy(true)
    setError(undefined)
    try {
      if (token === '') {
        await requestJson('/v1/auth/password/forgot', {
          method: 'POST',
          body: { email: String(form.get('email')) },
        })
        setDone('If an account has this email, a reset link is on its way. It works for an hour.')
      } else {
        await requestJson('/v1/auth/password/reset', {
          method: 'POST',
          body: { token, password: String(form.get('password')) },
        })
        setDone('Your password is changed. Sign in with it.')
      }
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <section class="auth-card" aria-labelledby="reset-title">
      <h1 id="reset-title">{token === '' ? 'Forgot your password?' : 'Choose a new password'}</h1>
      <Show
        when={done()}
        fallback={
          <form onSubmit={submit}>
            <Show
              when={token !== ''}
              fallback={
                <label>
                  Email
                  <input name="email" type="email" autocomplete="username" required />
                </label>
              }
            >
              <label>
                New password <span class="hint">(10 characters or more)</span>
                <input name="password" type="password" autocomplete="new-password" required minLength={10} />
              </label>
            </Show>
            <Show when={error()}>
              <p class="error" role="alert">
                {error()}
              </p>
            </Show>
            <button type="submit" class="primary" disabled={busy()}>
              {token === '' ? 'Send the link' : 'Set the password'}
            </button>
          </form>
        }
      >
        <p role="status">{done()}</p>
      </Show>
      <p class="muted">
        <A href="/login">Back to sign-in</A>
      </p>
    </section>
  )
}
