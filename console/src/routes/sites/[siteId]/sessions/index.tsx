import { A, useParams, useSearchParams } from '@solidjs/router'
import { createResource, For, Show } from 'solid-js'
import { api, errorText } from '../../../../api/client'
import { formatDuration, listSessions } from '../../../../api/sessions'
import { devices, type SessionSort, sessionSorts, type Website } from '../../../../api/types'
import { Guard } from '../../../../auth/guard'
import { type RangeId, rangePresets, rangeQuery } from '../../../../lib/range'
import '../../../../components/sessions.css'
import { TableWrap } from '../../../../components/table-wrap'

const PAGE_SIZE = 50

const sortLabels: Record<SessionSort, string> = {
  started: 'Started',
  duration: 'Duration',
  pageviews: 'Page views',
  clicks: 'Clicks',
  rage: 'Rage clicks',
  dead: 'Dead clicks',
}

type Params = {
  range?: string
  device?: string
  country?: string
  browser?: string
  os?: string
  page?: string
  minDurationS?: string
  rage?: string
  dead?: string
  ended?: string
  sort?: string
  order?: string
  offset?: string
}

const one = (v: string | string[] | undefined): string | undefined =>
  (Array.isArray(v) ? v[0] : v) || undefined
/** `'true'`/`'false'` in the address as a yes/no filter; anything else is no filter. */
const flag = (v: string | undefined): boolean | undefined =>
  v === 'true' ? true : v === 'false' ? false : undefined
const count = (v: string | undefined): number | undefined => {
  const n = Number(v)
  return v !== undefined && Number.isInteger(n) && n >= 0 ? n : undefined
}

/** A yes/no/either filter as a select. */
function FlagFilter(props: {
  name: string
  label: string
  value: string | undefined
  set: (v?: string) => void
}) {
  return (
    <label>
      {props.label}
      <select
        name={props.name}
        value={props.value ?? ''}
        onChange={(e) => props.set(e.currentTarget.value || undefined)}
      >
        <option value="">Any</option>
        <option value="true">Yes</option>
        <option value="false">No</option>
      </select>
    </label>
  )
}

function SessionList() {
  const params = useParams<{ siteId: string }>()
  const [search, setSearch] = useSearchParams<Params>()
  // Filters live in the address, like the heatmap viewer's, so a list can be bookmarked and shared.
  const get = (k: keyof Params) => one(search[k])
  const set = (p: Partial<Params>) =>
    setSearch({ offset: undefined, ...p } as Record<string, string | undefined>)
  const range = (): RangeId =>
    rangePresets.some((p) => p.id === get('range')) ? (get('range') as RangeId) : '7d'
  const sort = (): SessionSort =>
    (sessionSorts as readonly string[]).includes(get('sort') ?? '') ? (get('sort') as SessionSort) : 'started'
  const order = (): 'asc' | 'desc' => (get('order') === 'asc' ? 'asc' : 'desc')
  const offset = () => count(get('offset')) ?? 0

  const [site] = createResource(
    () => params.siteId,
    (id) => api<Website>(`/v1/sites/${encodeURIComponent(id)}`),
  )
  const [list] = createResource(
    () => ({
      siteId: params.siteId,
      from: rangeQuery(range(), {}).from,
      device: get('device'),
      country: get('country')?.toUpperCase(),
      browser: get('browser'),
      os: get('os'),
      page: get('page'),
      minDurationS: count(get('minDurationS')),
      rage: flag(get('rage')),
      dead: flag(get('dead')),
      ended: flag(get('ended')),
      sort: sort(),
      order: order(),
      limit: PAGE_SIZE,
      offset: offset(),
    }),
    ({ siteId, ...q }) => listSessions(siteId, q),
  )
  const text = (name: keyof Params, label: string, placeholder: string, size = 10) => (
    <label>
      {label}
      <input
        name={name}
        size={size}
        placeholder={placeholder}
        value={get(name) ?? ''}
        onChange={(e) => set({ [name]: e.currentTarget.value.trim() || undefined })}
      />
    </label>
  )
  /** A column header that sorts by its column (descending first, again for ascending). */
  const sortHeader = (s: SessionSort) => (
    <th scope="col" aria-sort={sort() === s ? (order() === 'asc' ? 'ascending' : 'descending') : undefined}>
      <button
        type="button"
        class="link sort"
        onClick={() => set({ sort: s, order: sort() === s && order() === 'desc' ? 'asc' : 'desc' })}
      >
        {sortLabels[s]}
        <Show when={sort() === s}>{order() === 'asc' ? ' ▲' : ' ▼'}</Show>
      </button>
    </th>
  )

  return (
    <section aria-labelledby="sessions-title">
      <p class="crumbs">
        <A href="/sites">Sites</A> / <A href={`/sites/${params.siteId}`}>{site()?.name ?? '…'}</A> /
      </p>
      <h1 id="sessions-title">Sessions</h1>
      <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Range
          <select name="range" value={range()} onChange={(e) => set({ range: e.currentTarget.value })}>
            <For each={rangePresets}>{(p) => <option value={p.id}>{p.label}</option>}</For>
          </select>
        </label>
        <label>
          Device
          <select
            name="device"
            value={get('device') ?? ''}
            onChange={(e) => set({ device: e.currentTarget.value || undefined })}
          >
            <option value="">All</option>
            <For each={devices}>{(d) => <option value={d}>{d}</option>}</For>
          </select>
        </label>
        {text('country', 'Country', 'any', 3)}
        {text('browser', 'Browser', 'any')}
        {text('os', 'OS', 'any')}
        {text('page', 'Visited page', '/path', 14)}
        <label>
          Longer than (s)
          <input
            name="minDurationS"
            type="number"
            min="0"
            size={5}
            value={get('minDurationS') ?? ''}
            onChange={(e) => set({ minDurationS: e.currentTarget.value || undefined })}
          />
        </label>
        <FlagFilter name="rage" label="Rage clicks" value={get('rage')} set={(v) => set({ rage: v })} />
        <FlagFilter name="dead" label="Dead clicks" value={get('dead')} set={(v) => set({ dead: v })} />
        <FlagFilter name="ended" label="Ended" value={get('ended')} set={(v) => set({ ended: v })} />
      </form>
      <Show when={list.error}>
        <p class="error" role="alert">
          {errorText(list.error)}
        </p>
      </Show>
      <Show
        when={list.latest}
        fallback={
          <Show when={!list.error}>
            <p class="muted">Loading…</p>
          </Show>
        }
      >
        {(answer) => (
          <>
            <p class="muted" data-testid="sessions-total" aria-live="polite">
              {answer().total.toLocaleString()} session{answer().total === 1 ? '' : 's'}
              <Show when={list.loading}> · loading…</Show>
            </p>
            <Show
              when={answer().sessions.length > 0}
              fallback={<p>No sessions match these filters in this range.</p>}
            >
              <TableWrap label="Table of sessions">
                <table class="sessions">
                  <thead>
                    <tr>
                      {sortHeader('started')}
                      <th scope="col">Entry page</th>
                      {sortHeader('duration')}
                      {sortHeader('pageviews')}
                      {sortHeader('clicks')}
                      {sortHeader('rage')}
                      {sortHeader('dead')}
                      <th scope="col">Device</th>
                      <th scope="col">Country</th>
                    </tr>
                  </thead>
                  <tbody>
                    <For each={answer().sessions}>
                      {(s) => (
                        <tr data-testid="session-row" data-session={s.sessionId}>
                          <td>
                            <A href={`/sites/${params.siteId}/sessions/${encodeURIComponent(s.sessionId)}`}>
                              {new Date(s.startedAt).toLocaleString()}
                            </A>
                            <Show when={!s.ended}>
                              {' '}
                              <span class="badge live">live</span>
                            </Show>
                          </td>
                          <td class="path" title={s.entryPage}>
                            {s.entryPage}
                          </td>
                          <td class="num">{formatDuration(s.durationMs)}</td>
                          <td class="num" data-col="pageviews">
                            {s.pageviews}
                          </td>
                          <td class="num" data-col="clicks">
                            {s.clicks}
                          </td>
                          <td class="num" data-col="rage" classList={{ frustrated: s.rage > 0 }}>
                            {s.rage}
                          </td>
                          <td class="num" data-col="dead" classList={{ frustrated: s.dead > 0 }}>
                            {s.dead}
                          </td>
                          <td>
                            {s.device} · {s.browser} · {s.os}
                          </td>
                          <td>{s.country || '—'}</td>
                        </tr>
                      )}
                    </For>
                  </tbody>
                </table>
              </TableWrap>
              <nav class="pager" aria-label="Pages of sessions">
                <button
                  type="button"
                  disabled={offset() === 0}
                  onClick={() => set({ offset: String(Math.max(0, offset() - PAGE_SIZE)) })}
                >
                  Previous
                </button>
                <span class="muted">
                  {offset() + 1}–{offset() + answer().sessions.length} of {answer().total}
                </span>
                <button
                  type="button"
                  disabled={offset() + PAGE_SIZE >= answer().total}
                  onClick={() => set({ offset: String(offset() + PAGE_SIZE) })}
                >
                  Next
                </button>
              </nav>
            </Show>
          </>
        )}
      </Show>
    </section>
  )
}

export default function SessionsPage() {
  return (
    <Guard permission="sessions:read">
      <SessionList />
    </Guard>
  )
}
