import { Navigate, useLocation } from '@solidjs/router'
import { Match, type ParentProps, Switch } from 'solid-js'
import { errorText } from '../api/client'
import type { Permission } from '../api/types'
import { base } from '../paths'
import { useAuth } from './context'
import { session } from './session'

/**
 * Shows its children to a signed-in user whose role holds `permission`; sends anyone else to the
 * sign-in page (and back here after), and tells a signed-in user without the permission so, naming it.
 * The gateway checks every request anyway: this only keeps pages a role cannot use out of its way.
 */
export function Guard(props: ParentProps<{ permission?: Permission }>) {
  const auth = useAuth()
  const location = useLocation()
  const next = () => encodeURIComponent(location.pathname.slice(base.length) + location.search)
  return (
    <Switch>
      <Match when={session() === null}>
        <Navigate href={`/login?next=${next()}`} />
      </Match>
      <Match when={auth.me.error !== undefined && auth.me.latest === undefined}>
        <p class="error" role="alert">
          Could not load your account: {errorText(auth.me.error)}
        </p>
      </Match>
      <Match when={auth.me.latest === undefined}>
        <p class="muted" aria-live="polite">
          Loading…
        </p>
      </Match>
      <Match when={props.permission !== undefined && !auth.can(props.permission)}>
        <section class="forbidden" aria-labelledby="forbidden-title">
          <h1 id="forbidden-title">Not available to your role</h1>
          <p>
            This page needs the <code>{props.permission}</code> permission, which the{' '}
            <strong>{auth.me.latest?.role}</strong> role does not have. An owner or admin of the organisation
            can change your role.
          </p>
        </section>
      </Match>
      <Match when={true}>{props.children}</Match>
    </Switch>
  )
}
