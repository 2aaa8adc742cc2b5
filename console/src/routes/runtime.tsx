import { createSignal, For, onCleanup, onMount, type ParentProps, Show } from 'solid-js'
import { openRuntimeStream } from '../api/runtime-stream'
import type { StreamStatus } from '../api/stream-status'
import type { RuntimeNodeView, RuntimeView } from '../api/types'
import { useAuth } from '../auth/context'
import { Guard } from '../auth/guard'
import { Sparkline } from '../components/sparkline'
import { TableWrap } from '../components/table-wrap'

/** Seconds of total turns/s kept for the sparkline. */
const HISTORY = 60

const rate = (n: number) => (n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString())
const count = (n: number) => n.toLocaleString()
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`

/** Shard numbers as ranges: 0–3, 8, 10–12. */
function ranges(shards: number[]): string {
  const out: string[] = []
  for (let i = 0; i < shards.length; ) {
    let j = i
    while (j + 1 < shards.length && shards[j + 1] === shards[j]! + 1) j++
    out.push(j === i ? `${shards[i]}` : `${shards[i]}–${shards[j]}`)
    i = j + 1
  }
  return out.join(', ') || 'none'
}

function statusText(s: StreamStatus): string {
  switch (s.state) {
    case 'connecting':
      return 'Connecting…'
    case 'live':
      return 'Live'
    case 'reconnecting':
      return `Reconnecting in ${Math.ceil(s.inMs / 1000)} s`
    case 'refused':
      return s.message
  }
}

function Stat(props: { label: string; value: string; testId: string }) {
  return (
    <div class="stat">
      <dt>{props.label}</dt>
      <dd data-testid={props.testId}>{props.value}</dd>
    </div>
  )
}

function NodeCard(props: { node: RuntimeNodeView }) {
  const types = () => Object.entries(props.node.byType).sort(([a], [b]) => a.localeCompare(b))
  return (
    <section class="node-card" data-testid="runtime-node" data-node={props.node.nodeId}>
      <h3>{props.node.nodeId}</h3>
      <dl class="settings">
        <dt>Shards ({props.node.shards.length})</dt>
        <dd data-testid="node-shards">{ranges(props.node.shards)}</dd>
        <dt>Active actors</dt>
        <dd>{count(props.node.activeActors)}</dd>
        <dt>Turns/s</dt>
        <dd>{rate(props.node.turnsPerSecond)}</dd>
        <dt>Delivered/s</dt>
        <dd>{rate(props.node.deliveredPerSecond)}</dd>
        <dt>Mailbox depth</dt>
        <dd>{count(props.node.mailboxDepth)}</dd>
        <dt>Dead letters</dt>
        <dd>{count(props.node.deadLetters)}</dd>
        <dt>Replays</dt>
        <dd>{count(props.node.replays)}</dd>
        <dt>Unwritten batches</dt>
        <dd>{count(props.node.unwrittenBatches)}</dd>
      </dl>
      <TableWrap label={`Table of worker threads on ${props.node.nodeId}`}>
        <table>
          <caption>Worker threads ({props.node.threads})</caption>
          <thead>
            <tr>
              <th scope="col">Thread</th>
              <th scope="col">Shards</th>
              <th scope="col">Active actors</th>
              <th scope="col">Heap</th>
            </tr>
          </thead>
          <tbody>
            <For each={props.node.workers}>
              {(w) => (
                <tr data-testid="worker-row">
                  <td>{w.threadId}</td>
                  <td>{w.shards}</td>
                  <td>{count(w.activeActors)}</td>
                  <td>{mib(w.heapUsed)}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </TableWrap>
      <Show when={types().length > 0}>
        <TableWrap label={`Table of actor types on ${props.node.nodeId}`}>
          <table>
            <caption>Actor types on {props.node.nodeId}</caption>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Active</th>
                <th scope="col">Turns/s</th>
                <th scope="col">Turns</th>
                <th scope="col">Activations</th>
                <th scope="col">Passivations</th>
                <th scope="col">Dead letters</th>
              </tr>
            </thead>
            <tbody>
              <For each={types()}>
                {([type, t]) => (
                  <tr>
                    <th scope="row">{type}</th>
                    <td>{count(t.active)}</td>
                    <td>{rate(t.turnsPerSecond)}</td>
                    <td>{count(t.turns)}</td>
                    <td>{count(t.activations)}</td>
                    <td>{count(t.passivations)}</td>
                    <td>{count(t.deadLetters)}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </TableWrap>
      </Show>
    </section>
  )
}

/**
 * Every runtime node of the instance, live: shards and worker threads per node, active actors and turns
 * per second by actor type, mailbox depth and dead letters, from the gateway's stream (a sample a second,
 * gathered from every node of a cluster).
 */
function Dashboard() {
  const [view, setView] = createSignal<RuntimeView>()
  const [status, setStatus] = createSignal<StreamStatus>({ state: 'connecting' })
  const [history, setHistory] = createSignal<number[]>([])
  onMount(() => {
    const stream = openRuntimeStream({
      onStats: (v) => {
        setView(v)
        setHistory((h) => [...h.slice(-(HISTORY - 1)), v.totals.turnsPerSecond])
      },
      onStatus: setStatus,
    })
    onCleanup(() => stream.close())
  })
  const types = () => Object.entries(view()?.totals.byType ?? {}).sort(([a], [b]) => a.localeCompare(b))

  return (
    <section aria-labelledby="runtime-title">
      <div class="page-head">
        <h1 id="runtime-title">Runtime</h1>
        <p class="live-status" data-state={status().state} aria-live="polite" data-testid="runtime-status">
          <span class="live-dot" aria-hidden="true" />
          {statusText(status())}
        </p>
      </div>
      <Show when={status().state === 'refused'}>
        <p class="error" role="alert">
          {statusText(status())}
        </p>
      </Show>
      <Show when={view()} fallback={<p class="muted">Waiting for the first sample…</p>}>
        {(v) => (
          <>
            <Show when={v().missing.length > 0}>
              <p class="error" role="alert">
                No answer in time from {v().missing.join(', ')}.
              </p>
            </Show>
            <dl class="stats">
              <Stat label="Nodes" value={count(v().totals.nodes)} testId="total-nodes" />
              <Stat label="Shards" value={count(v().totals.shards)} testId="total-shards" />
              <Stat label="Worker threads" value={count(v().totals.threads)} testId="total-threads" />
              <Stat label="Active actors" value={count(v().totals.activeActors)} testId="total-active" />
              <Stat label="Turns/s" value={rate(v().totals.turnsPerSecond)} testId="total-turns" />
              <Stat label="Mailbox depth" value={count(v().totals.mailboxDepth)} testId="total-mailbox" />
              <Stat label="Dead letters" value={count(v().totals.deadLetters)} testId="total-dead" />
            </dl>
            <Sparkline values={history()} width={320} height={40} label="Turns per second, last minute" />
            <TableWrap label="Table of actor types, all nodes">
              <table>
                <caption>Actor types, all nodes</caption>
                <thead>
                  <tr>
                    <th scope="col">Type</th>
                    <th scope="col">Active</th>
                    <th scope="col">Turns/s</th>
                    <th scope="col">Dead letters</th>
                  </tr>
                </thead>
                <tbody>
                  <For
                    each={types()}
                    fallback={
                      <tr>
                        <td colSpan={4} class="muted">
                          No actor has run yet.
                        </td>
                      </tr>
                    }
                  >
                    {([type, t]) => (
                      <tr data-testid="type-row" data-type={type}>
                        <th scope="row">{type}</th>
                        <td data-col="active">{count(t.active)}</td>
                        <td data-col="turns">{rate(t.turnsPerSecond)}</td>
                        <td data-col="dead">{count(t.deadLetters)}</td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </TableWrap>
            <h2>Nodes</h2>
            <div class="node-grid">
              <For each={v().nodes}>{(n) => <NodeCard node={n} />}</For>
            </div>
          </>
        )}
      </Show>
    </section>
  )
}

/** The page for instance operators only: it shows every tenant's load. */
function OperatorsOnly(props: ParentProps) {
  const auth = useAuth()
  return (
    <Show
      when={auth.can('instance:read')}
      fallback={
        <section class="forbidden" aria-labelledby="forbidden-title" data-testid="runtime-forbidden">
          <h1 id="forbidden-title">For instance operators only</h1>
          <p>
            The runtime dashboard shows the whole instance — every organisation's load — so it needs the{' '}
            <code>instance:read</code> permission, which no organisation role has. The instance's first
            account and the accounts its operators list in <code>HM_OPERATOR_EMAILS</code> hold it.
          </p>
        </section>
      }
    >
      {props.children}
    </Show>
  )
}

export default function Runtime() {
  return (
    <Guard>
      <OperatorsOnly>
        <Dashboard />
      </OperatorsOnly>
    </Guard>
  )
}
