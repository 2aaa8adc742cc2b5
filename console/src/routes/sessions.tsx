import { A, Navigate } from '@solidjs/router'
import { createResource, For, Match, Switch } from 'solid-js'
import { api, errorText } from '../api/client'
import type { Website } from '../api/types'
import { Guard } from '../auth/guard'

/** The navigation's Sessions entry: sessions belong to a site, so pick one (or go straight to the only one). */
function PickSite() {
  const [sites] = createResource(() => api<Website[]>('/v1/sites'))
  return (
    <section aria-labelledby="sessions-pick-title">
      <h1 id="sessions-pick-title">Sessions</h1>
      <Switch fallback={<p class="muted">Loading…</p>}>
        <Match when={sites.error}>
          <p class="error" role="alert">
            {errorText(sites.error)}
          </p>
        </Match>
        <Match when={sites()?.length === 1 && sites()?.[0]}>
          {(site) => <Navigate href={`/sites/${site().id}/sessions`} />}
        </Match>
        <Match when={sites()?.length === 0}>
          <p>
            No sites yet: <A href="/sites">add one</A> first.
          </p>
        </Match>
        <Match when={sites()}>
          {(list) => (
            <>
              <p>Sessions of which site?</p>
              <ul>
                <For each={list()}>
                  {(s) => (
                    <li>
                      <A href={`/sites/${s.id}/sessions`}>{s.name}</A> <span class="muted">{s.domain}</span>
                    </li>
                  )}
                </For>
              </ul>
            </>
          )}
        </Match>
      </Switch>
    </section>
  )
}

export default function SessionsPick() {
  return (
    <Guard permission="sessions:read">
      <PickSite />
    </Guard>
  )
}
