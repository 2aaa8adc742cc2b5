import { createMemo, createResource, createSignal, Match, Show, Switch } from 'solid-js'
import { api, errorText } from '../api/client'
import type { Me, MfaSetup } from '../api/types'
import { Guard } from '../auth/guard'
import { encodeQr, qrPath } from '../lib/qr'

/** The otpauth:// URI as a QR code an authenticator app scans (drawn here: the secret goes nowhere else). */
function QrImage(props: { text: string }) {
  const qr = createMemo(() => encodeQr(props.text))
  const box = () => qr().size + 8
  return (
    <div class="qr">
      <svg
        viewBox={`0 0 ${box()} ${box()}`}
        role="img"
        aria-label="QR code of the authenticator setup link"
        data-testid="mfa-qr"
        shape-rendering="crispEdges"
      >
        <rect width={box()} height={box()} fill="#fff" />
        <path d={qrPath(qr())} fill="#000" />
      </svg>
    </div>
  )
}

/** The six-digit code of an authenticator app, as both forms below ask for it. */
function CodeField() {
  return (
    <label>
      Code from your app
      <input name="totp" inputMode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" required />
    </label>
  )
}

/**
 * The signed-in account and its two-step sign-in: set up TOTP (a QR code, the secret and the link for
 * an authenticator app), confirm it with a first code, and turn it off with the password and a code.
 */
function Security() {
  const [me, { refetch }] = createResource(() => api<Me>('/v1/me'))
  const [setup, setSetup] = createSignal<MfaSetup>()
  const [error, setError] = createSignal<string>()
  const [notice, setNotice] = createSignal<string>()
  const [busy, setBusy] = createSignal(false)

  const run = async (fn: () => Promise<void>) => {
    setBusy(true)
    setError(undefined)
    setNotice(undefined)
    try {
      await fn()
    } catch (e) {
      setError(errorText(e))
    } finally {
      setBusy(false)
    }
  }
  const start = () =>
    run(async () => {
      setSetup(await api<MfaSetup>('/v1/me/mfa/setup', { method: 'POST' }))
    })
  const confirm = (e: SubmitEvent) => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const totp = String(new FormData(form).get('totp')).trim()
    return run(async () => {
      await api('/v1/me/mfa/enable', { method: 'POST', body: { totp } })
      setSetup(undefined)
      await refetch()
      setNotice('Two-step sign-in is on: signing in now asks for a code from your app.')
    })
  }
  const disable = (e: SubmitEvent) => {
    e.preventDefault()
    const form = e.currentTarget as HTMLFormElement
    const f = new FormData(form)
    return run(async () => {
      await api('/v1/me/mfa/disable', {
        method: 'POST',
        body: { password: String(f.get('password')), totp: String(f.get('totp')).trim() },
      })
      form.reset()
      await refetch()
      setNotice('Two-step sign-in is off.')
    })
  }

  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      <Show when={me.error}>
        <p class="error" role="alert">
          {errorText(me.error)}
        </p>
      </Show>
      <Show when={me()}>
        {(m) => (
          <>
            <dl class="settings">
              <dt>Name</dt>
              <dd>{m().name}</dd>
              <dt>Email</dt>
              <dd>{m().email}</dd>
              <dt>Role here</dt>
              <dd>{m().role}</dd>
            </dl>
            <h2>Two-step sign-in</h2>
            <p data-testid="mfa-state">
              {m().mfaEnabled
                ? 'On: signing in needs your password and a code from your authenticator app.'
                : 'Off: your password alone signs you in.'}
            </p>
            <Show when={notice()}>
              <p role="status">{notice()}</p>
            </Show>
            <Show when={error()}>
              <p class="error" role="alert">
                {error()}
              </p>
            </Show>
            <Switch>
              <Match when={m().mfaEnabled}>
                <form class="settings-form" onSubmit={disable} aria-label="Turn off two-step sign-in">
                  <label>
                    Password
                    <input name="password" type="password" autocomplete="current-password" required />
                  </label>
                  <CodeField />
                  <div class="form-actions">
                    <button type="submit" class="danger" disabled={busy()}>
                      Turn off
                    </button>
                  </div>
                </form>
              </Match>
              <Match when={setup()}>
                {(s) => (
                  <div class="settings-form" data-testid="mfa-setup">
                    <p>
                      Scan the code with an authenticator app, or enter the key by hand. Then type the
                      six-digit code it shows.
                    </p>
                    <QrImage text={s().uri} />
                    <dl class="settings">
                      <dt>Key</dt>
                      <dd class="secret" data-testid="mfa-secret">
                        {s().secret}
                      </dd>
                      <dt>Link</dt>
                      <dd class="secret" data-testid="mfa-uri">
                        {s().uri}
                      </dd>
                    </dl>
                    <form onSubmit={confirm} aria-label="Confirm two-step sign-in">
                      <CodeField />
                      <div class="form-actions">
                        <button type="submit" class="primary" disabled={busy()}>
                          Turn on
                        </button>
                        <button type="button" disabled={busy()} onClick={() => setSetup(undefined)}>
                          Cancel
                        </button>
                      </div>
                    </form>
                  </div>
                )}
              </Match>
              <Match when={true}>
                <button type="button" class="primary" disabled={busy()} onClick={() => void start()}>
                  Set up two-step sign-in
                </button>
              </Match>
            </Switch>
          </>
        )}
      </Show>
    </section>
  )
}

export default function Account() {
  return (
    <Guard permission="account:self">
      <Security />
    </Guard>
  )
}
