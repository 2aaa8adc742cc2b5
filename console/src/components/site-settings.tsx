import { createSignal, Show } from 'solid-js'
import { api, errorText } from '../api/client'
import type { Website } from '../api/types'

/** Allowed origins as the form takes them: one per line (or separated by commas or spaces). */
const originsOf = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter((o) => o !== '')

/** A website's settings as a form (`PATCH /v1/sites/<id>`); the saved site comes back through `onSaved`. */
export function SiteSettingsForm(props: { site: Website; onSaved: (site: Website) => void }) {
  const [error, setError] = createSignal<string>()
  const [saved, setSaved] = createSignal(false)
  const [busy, setBusy] = createSignal(false)

  const submit = async (e: SubmitEvent) => {
    e.preventDefault()
    const f = new FormData(e.currentTarget as HTMLFormElement)
    setBusy(true)
    setError(undefined)
    setSaved(false)
    try {
      const site = await api<Website>(`/v1/sites/${props.site.id}`, {
        method: 'PATCH',
        body: {
          name: String(f.get('name')).trim(),
          domain: String(f.get('domain')).trim(),
          allowedOrigins: originsOf(String(f.get('allowedOrigins') ?? '')),
          consentRequired: f.get('consentRequired') === 'on',
          masking: String(f.get('masking')),
          ipHandling: String(f.get('ipHandling')),
          retentionDays: Number(f.get('retentionDays')),
          urlRules: { fragmentRoutes: f.get('fragmentRoutes') === 'on' },
        },
      })
      props.onSaved(site)
      setSaved(true)
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form class="settings-form" onSubmit={submit} aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <p class="muted">
        Site key: <code>{props.site.siteKey}</code>
      </p>
      <label>
        Name
        <input name="name" required maxLength={200} value={props.site.name} />
      </label>
      <label>
        Domain
        <input name="domain" required maxLength={253} value={props.site.domain} />
      </label>
      <label>
        Allowed origins{' '}
        <span class="hint">
          (one per line, like https://shop.example or https://*.shop.example; none = any)
        </span>
        <textarea name="allowedOrigins" rows={3} value={props.site.allowedOrigins.join('\n')} />
      </label>
      <label class="check">
        <input type="checkbox" name="consentRequired" checked={props.site.consentRequired} />
        Capture nothing until the visitor consents
      </label>
      <label>
        Masking
        <select name="masking" value={props.site.masking}>
          <option value="standard">Standard</option>
          <option value="strict">Strict: selectors keep only tags and positions</option>
        </select>
      </label>
      <label>
        Visitor addresses in consent records
        <select name="ipHandling" value={props.site.ipHandling}>
          <option value="anonymize">Anonymised</option>
          <option value="discard">Not kept</option>
        </select>
      </label>
      <label>
        Keep data for <span class="hint">(days)</span>
        <input
          name="retentionDays"
          type="number"
          min="1"
          max="3650"
          required
          value={props.site.retentionDays}
        />
      </label>
      <label class="check">
        <input type="checkbox" name="fragmentRoutes" checked={props.site.urlRules.fragmentRoutes !== false} />
        Single-page-app routes (#/…) are pages of their own
      </label>
      <Show when={error()}>
        <p class="error" role="alert">
          {error()}
        </p>
      </Show>
      <div class="form-actions">
        <button type="submit" class="primary" disabled={busy()}>
          Save settings
        </button>
        <span role="status" class="muted">
          {saved() ? 'Saved.' : ''}
        </span>
      </div>
    </form>
  )
}
