import { A, useParams } from '@solidjs/router'
import { createResource, createSignal, Show } from 'solid-js'
import { api, errorText } from '../../../api/client'
import type { Website } from '../../../api/types'
import { useAuth } from '../../../auth/context'
import { Guard } from '../../../auth/guard'
import { SiteSettingsForm } from '../../../components/site-settings'

/** The tag a site puts on its pages: the SDK from the gateway that serves this console. */
export function snippetOf(site: Website, origin: string): string {
  const consent = site.consentRequired ? ' data-consent-required="true"' : ''
  return `<script src="${origin}/sdk/hm.js" data-site="${site.siteKey}"${consent} defer></script>`
}

function SiteOverview() {
  const params = useParams<{ siteId: string }>()
  const auth = useAuth()
  const [site, { mutate }] = createResource(
    () => params.siteId,
    (id) => api<Website>(`/v1/sites/${encodeURIComponent(id)}`),
  )
  const [copied, setCopied] = createSignal('')
  let snippetEl: HTMLTextAreaElement | undefined

  const copy = async (text: string) => {
    try {
      await navigator.clipboard.writeText(text)
      setCopied('Copied to the clipboard.')
    } catch {
      // No clipboard access (an insecure origin, a denied permission): select it for Ctrl-C instead.
      snippetEl?.select()
      setCopied('Selected: press Ctrl-C (⌘-C) to copy.')
    }
  }

  return (
    <Show
      when={site()}
      fallback={
        <Show when={site.error} fallback={<p class="muted">Loading…</p>}>
          <p class="error" role="alert">
            {errorText(site.error)}
          </p>
        </Show>
      }
    >
      {(s) => (
        <section aria-labelledby="site-title">
          <p class="crumbs">
            <A href="/sites">Sites</A> /
          </p>
          <h1 id="site-title">{s().name}</h1>
          <p>
            <Show when={auth.can('heatmaps:read')}>
              <A href={`/sites/${s().id}/heatmap`} class="button primary">
                Open heatmaps
              </A>{' '}
            </Show>
            <Show when={auth.can('sessions:read')}>
              <A href={`/sites/${s().id}/sessions`} class="button">
                Sessions
              </A>
            </Show>
          </p>
          <h2>Install</h2>
          <p>Put this tag in the &lt;head&gt; of every page of {s().domain}:</p>
          <div class="snippet">
            <textarea
              ref={snippetEl}
              readOnly
              rows={3}
              aria-label="SDK snippet"
              value={snippetOf(s(), location.origin)}
              onFocus={(e) => e.currentTarget.select()}
            />
            <button type="button" onClick={() => void copy(snippetOf(s(), location.origin))}>
              Copy
            </button>
          </div>
          <p class="muted" aria-live="polite">
            {copied()}
          </p>
          <Show
            when={auth.can('sites:write')}
            fallback={
              <>
                <h2>Settings</h2>
                <dl class="settings">
                  <dt>Site key</dt>
                  <dd>
                    <code>{s().siteKey}</code>
                  </dd>
                  <dt>Domain</dt>
                  <dd>{s().domain}</dd>
                  <dt>Allowed origins</dt>
                  <dd>{s().allowedOrigins.length === 0 ? 'any' : s().allowedOrigins.join(', ')}</dd>
                  <dt>Consent</dt>
                  <dd>{s().consentRequired ? 'required before capture' : 'not required'}</dd>
                  <dt>Masking</dt>
                  <dd>{s().masking}</dd>
                  <dt>Visitor addresses in consent records</dt>
                  <dd>{s().ipHandling === 'anonymize' ? 'anonymised' : 'not kept'}</dd>
                  <dt>Retention</dt>
                  <dd>{s().retentionDays} days</dd>
                </dl>
              </>
            }
          >
            <SiteSettingsForm site={s()} onSaved={(next) => mutate(next)} />
          </Show>
        </section>
      )}
    </Show>
  )
}

export default function Site() {
  return (
    <Guard permission="sites:read">
      <SiteOverview />
    </Guard>
  )
}
