import { A, useLocation, useNavigate } from '@solidjs/router'
import { createEffect, createSignal, For, on, onCleanup, type ParentProps, Show } from 'solid-js'
import { errorText } from '../api/client'
import type { Permission } from '../api/types'
import { useAuth } from '../auth/context'
import { session, signOut, switchOrg } from '../auth/session'

/** Sections of the console and the permission each needs; the navigation shows only what the role may open. */
const sections: Array<{ href: string; label: string; permission: Permission }> = [
  { href: '/sites', label: 'Sites', permission: 'sites:read' },
  { href: '/sessions', label: 'Sessions', permission: 'sessions:read' },
  { href: '/members', label: 'Members', permission: 'members:read' },
  { href: '/privacy', label: 'Privacy', permission: 'privacy:read' },
  { href: '/audit', label: 'Audit log', permission: 'audit:read' },
  // Instance operators only, whatever their role here.
  { href: '/runtime', label: 'Runtime', permission: 'instance:read' },
]

/**
 * The frame of every page: skip link, product name, navigation, organisation switcher, account menu.
 * On a narrow screen the navigation and the account fold behind a Menu button (a disclosure: Escape or
 * opening a page closes it, and the focus goes back to the button when it was inside).
 */
export function Shell(props: ParentProps) {
  const auth = useAuth()
  const navigate = useNavigate()
  const location = useLocation()
  const [error, setError] = createSignal<string>()
  const [busy, setBusy] = createSignal(false)
  const [menuOpen, setMenuOpen] = createSignal(false)
  let menuButton: HTMLButtonElement | undefined
  let menu: HTMLDivElement | undefined

  createEffect(
    on(
      () => location.pathname,
      () => setMenuOpen(false),
      { defer: true },
    ),
  )
  createEffect(() => {
    if (!menuOpen()) return
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return
      // The focus would be lost with the menu it was in: it goes back to what opened it.
      const within = menu?.contains(document.activeElement) === true
      setMenuOpen(false)
      if (within || document.activeElement === menuButton) menuButton?.focus()
    }
    document.addEventListener('keydown', onKey)
    onCleanup(() => document.removeEventListener('keydown', onKey))
  })

  const onSwitch = async (orgId: string) => {
    setBusy(true)
    setError(undefined)
    try {
      await switchOrg(orgId)
      navigate('/sites')
    } catch (e) {
      setError(errorText(e))
    } finally {
      setBusy(false)
    }
  }
  const onSignOut = async () => {
    try {
      await signOut()
    } catch (e) {
      console.warn('[console] sign-out on the gateway failed', e)
    }
    navigate('/login', { replace: true })
  }

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <A href="/" class="brand" end>
          <span aria-hidden="true" class="brand-mark" />
          Heatmaps
        </A>
        <Show when={session() !== null && auth.me.latest}>
          {(me) => (
            <>
              <button
                ref={menuButton}
                type="button"
                class="menu-toggle"
                aria-expanded={menuOpen()}
                aria-controls="topbar-menu"
                onClick={() => setMenuOpen(!menuOpen())}
              >
                <span class="menu-icon" aria-hidden="true" />
                Menu
              </button>
              <div ref={menu} id="topbar-menu" class="topbar-menu" data-open={menuOpen() ? '' : undefined}>
                <nav aria-label="Main">
                  <ul>
                    <For each={sections.filter((s) => auth.can(s.permission))}>
                      {(s) => (
                        <li>
                          <A href={s.href} activeClass="active">
                            {s.label}
                          </A>
                        </li>
                      )}
                    </For>
                  </ul>
                </nav>
                <div class="account">
                  <Show
                    when={me().memberships.length > 1}
                    fallback={<span class="org-name">{me().memberships[0]?.name}</span>}
                  >
                    <label class="org-switch">
                      <span class="visually-hidden">Organisation</span>
                      <select
                        disabled={busy()}
                        value={me().orgId}
                        onChange={(e) => void onSwitch(e.currentTarget.value)}
                      >
                        <For each={me().memberships}>
                          {(m) => (
                            <option value={m.orgId}>
                              {m.name} ({m.role})
                            </option>
                          )}
                        </For>
                      </select>
                    </label>
                  </Show>
                  <span class="who" title={me().email}>
                    {me().name} · <span class="role">{me().role}</span>
                  </span>
                  <A href="/account" activeClass="active">
                    Account
                  </A>
                  <button type="button" class="link" onClick={() => void onSignOut()}>
                    Sign out
                  </button>
                </div>
              </div>
            </>
          )}
        </Show>
      </header>
      <Show when={error()}>
        <p class="error banner" role="alert">
          {error()}
        </p>
      </Show>
      <main id="main" tabIndex={-1}>
        {/* Each organisation's pages start afresh: nothing read under one sign-in shows under another. */}
        <Show when={session()?.org ?? 'signed-out'} keyed>
          {props.children}
        </Show>
      </main>
    </>
  )
}
