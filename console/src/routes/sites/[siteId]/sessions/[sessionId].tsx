import { A, useParams } from '@solidjs/router'
import { createResource, For, type JSX, Show } from 'solid-js'
import { api, errorText } from '../../../../api/client'
import { formatDuration, getSession } from '../../../../api/sessions'
import type { SessionSummary, Website } from '../../../../api/types'
import { Guard } from '../../../../auth/guard'
import { SessionReplay } from '../../../../components/session-replay'
import '../../../../components/sessions.css'
import { TableWrap } from '../../../../components/table-wrap'

function Stat(props: { label: string; name: string; frustrated?: boolean; children: JSX.Element }) {
  return (
    <div data-stat={props.name} classList={{ frustrated: props.frustrated === true }}>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </div>
  )
}

function Summary(props: { s: SessionSummary }) {
  const s = () => props.s
  return (
    <>
      <dl class="session-stats" aria-label="Session summary">
        <Stat label="Duration" name="duration">
          {formatDuration(s().durationMs)}
        </Stat>
        <Stat label="Page views" name="pageviews">
          {s().pageviews}
        </Stat>
        <Stat label="Clicks" name="clicks">
          {s().clicks}
        </Stat>
        <Stat label="Rage clicks" name="rage" frustrated={s().rage > 0}>
          {s().rage}
        </Stat>
        <Stat label="Clicks in rage bursts" name="rageClicks" frustrated={s().rage > 0}>
          {s().rageClicks}
        </Stat>
        <Stat label="Dead clicks" name="dead" frustrated={s().dead > 0}>
          {s().dead}
        </Stat>
      </dl>
      <dl class="settings">
        <dt>Started</dt>
        <dd>
          {new Date(s().startedAt).toLocaleString()}
          {s().ended ? '' : ' (still going)'}
        </dd>
        <dt>Device</dt>
        <dd>
          {s().device} · {s().browser} · {s().os} · {s().viewport} viewport
        </dd>
        <dt>Country</dt>
        <dd>{s().country || '—'}</dd>
        <dt>Referrer</dt>
        <dd>{s().referrer || 'none (direct)'}</dd>
        <dt>Entry page</dt>
        <dd data-testid="entry-page">{s().entryPage}</dd>
        <dt>Exit page</dt>
        <dd data-testid="exit-page">{s().exitPage}</dd>
      </dl>
      <h2>Pages</h2>
      <TableWrap label="Table of the session's pages">
        <table class="session-pages">
          <thead>
            <tr>
              <th scope="col">Page</th>
              <th scope="col">Entered</th>
              <th scope="col">Time on page</th>
              <th scope="col">Deepest scroll</th>
            </tr>
          </thead>
          <tbody>
            <For each={s().pages}>
              {(p) => (
                <tr data-testid="session-page">
                  <td>{p.page}</td>
                  <td>{new Date(p.enteredAt).toLocaleTimeString()}</td>
                  <td class="num">{formatDuration(p.dwellMs)}</td>
                  <td class="num" data-col="scroll">
                    {p.maxScrollPx} px ({Math.round(p.maxScroll * 100)} %)
                  </td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </TableWrap>
    </>
  )
}

function SessionView() {
  const params = useParams<{ siteId: string; sessionId: string }>()
  const [site] = createResource(
    () => params.siteId,
    (id) => api<Website>(`/v1/sites/${encodeURIComponent(id)}`),
  )
  const [answer] = createResource(
    () => ({ siteId: params.siteId, sessionId: params.sessionId }),
    (q) => getSession(q.siteId, q.sessionId),
  )
  return (
    <section aria-labelledby="session-title">
      <p class="crumbs">
        <A href="/sites">Sites</A> / <A href={`/sites/${params.siteId}`}>{site()?.name ?? '…'}</A> /{' '}
        <A href={`/sites/${params.siteId}/sessions`}>Sessions</A> /
      </p>
      <h1 id="session-title">
        Session <code>{params.sessionId}</code>
      </h1>
      <Show when={answer.error}>
        <p class="error" role="alert">
          {errorText(answer.error)}
        </p>
      </Show>
      <Show
        when={answer()}
        fallback={
          <Show when={!answer.error}>
            <p class="muted">Loading…</p>
          </Show>
        }
      >
        {(a) => (
          <>
            <Show
              when={a().session}
              fallback={<p class="muted">No summary written for this session yet; its events follow.</p>}
            >
              {(s) => <Summary s={s()} />}
            </Show>
            <Show when={(a().session?.events ?? 0) > a().timeline.length}>
              <p class="muted">
                The replay holds the first {a().timeline.length.toLocaleString()} of{' '}
                {a().session?.events.toLocaleString()} events.
              </p>
            </Show>
            <Show when={a().timeline.length > 0} fallback={<p class="muted">No events to replay.</p>}>
              <SessionReplay timeline={a().timeline} />
            </Show>
          </>
        )}
      </Show>
    </section>
  )
}

export default function SessionPage() {
  return (
    <Guard permission="sessions:read">
      <SessionView />
    </Guard>
  )
}
