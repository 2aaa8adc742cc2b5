import { A, useParams } from '@solidjs/router'
import {
  batch,
  createEffect,
  createMemo,
  createResource,
  createSignal,
  For,
  type JSX,
  lazy,
  onCleanup,
  Show,
} from 'solid-js'
import type { ElementSort } from '../../../api/analysis'
import { api, apiResponse, errorText } from '../../../api/client'
import type { StreamStatus } from '../../../api/stream-status'
import {
  type HeatmapAnswer,
  type HeatmapKind,
  heatmapKinds,
  type PagesAnswer,
  type ViewportClass,
  viewportClasses,
  type Website,
} from '../../../api/types'
import { useAuth } from '../../../auth/context'
import { Guard } from '../../../auth/guard'
import { HeatmapStage, type StageHandle, type StageOverlayView } from '../../../components/heatmap-stage'
import { kindLabels, layoutWidth, MapFields } from '../../../components/map-fields'
import { SegmentFields } from '../../../components/segment-fields'
import { Sparkline } from '../../../components/sparkline'
import type { HeatmapStyle } from '../../../heatmap'
import { one, useAddressState } from '../../../lib/address'
import { type RangeId, rangeQuery } from '../../../lib/range'
import { openLive } from '../../../live/live-socket'

/** Types live mode can follow: the page actors stream their cells; scroll depth is read from sessions. */
const liveKinds: ReadonlySet<HeatmapKind> = new Set(['click', 'move', 'attention', 'rage', 'dead'])
// Loaded when first shown: the map itself is what the page's first load is for.
const ElementRanking = lazy(() =>
  import('../../../components/element-ranking').then((m) => ({ default: m.ElementRanking })),
)
const ScrollDepthOverlay = lazy(() =>
  import('../../../components/scroll-depth').then((m) => ({ default: m.ScrollDepthOverlay })),
)
const AttentionOverlay = lazy(() =>
  import('../../../components/scroll-depth').then((m) => ({ default: m.AttentionOverlay })),
)
/** Click maps rank the page's elements beside them, by what the map shows. */
const rankedBy: Partial<Record<HeatmapKind, ElementSort>> = { click: 'clicks', rage: 'rage', dead: 'dead' }
const SPARK_POINTS = 60

export type Params = {
  page?: string
  type?: string
  viewport?: string
  device?: string
  country?: string
  range?: string
  from?: string
  to?: string
  live?: string
}

const refusal = (s: StreamStatus): string | undefined =>
  s.state === 'refused' ? s.message || s.code : undefined

function Viewer() {
  const auth = useAuth()
  const params = useParams<{ siteId: string }>()
  // The filters live in the address, so a view can be bookmarked and shared.
  const [search, set] = useAddressState<Params>()
  const kind = (): HeatmapKind => {
    const t = one(search.type)
    return (heatmapKinds as readonly string[]).includes(t ?? '') ? (t as HeatmapKind) : 'click'
  }
  const viewport = (): ViewportClass | undefined => {
    const v = one(search.viewport)
    return (viewportClasses as readonly string[]).includes(v ?? '') ? (v as ViewportClass) : undefined
  }
  const device = () => one(search.device)
  const country = () => one(search.country)?.toUpperCase()
  const range = (): RangeId => (one(search.range) as RangeId | undefined) ?? '7d'
  const custom = () => ({ from: one(search.from), to: one(search.to) })
  const segmented = () => device() !== undefined || country() !== undefined

  const [style, setStyle] = createSignal<HeatmapStyle>({
    radius: 24,
    intensity: 1,
    opacity: 0.8,
    ramp: 'heat',
  })
  /** Bumped to read the map again (a live stream (re)started, or the user asked). */
  const [nonce, setNonce] = createSignal(0)

  const [site] = createResource(
    () => params.siteId,
    (id) => api<Website>(`/v1/sites/${encodeURIComponent(id)}`),
  )
  const [pages] = createResource(
    () => ({
      siteId: params.siteId,
      range: range(),
      custom: custom(),
      viewport: viewport(),
      device: device(),
      country: country(),
    }),
    (q) =>
      api<PagesAnswer>(`/v1/sites/${encodeURIComponent(q.siteId)}/pages`, {
        query: {
          from: rangeQuery(q.range, q.custom).from,
          to: rangeQuery(q.range, q.custom).to,
          viewport: q.viewport,
          device: q.device,
          country: q.country,
          limit: 200,
        },
      }),
  )
  const page = createMemo(() => one(search.page) ?? pages()?.pages[0]?.page)
  const heatmapQuery = createMemo(() => {
    const p = page()
    if (p === undefined) return undefined
    const r = rangeQuery(range(), custom())
    return {
      siteId: params.siteId,
      page: p,
      type: kind(),
      viewport: viewport(),
      device: device(),
      country: country(),
      from: r.from,
      to: r.to,
      nonce: nonce(),
    }
  })
  const [heatmap] = createResource(heatmapQuery, (q) =>
    api<HeatmapAnswer>(`/v1/sites/${encodeURIComponent(q.siteId)}/heatmap`, {
      query: {
        page: q.page,
        type: q.type,
        viewport: q.viewport,
        device: q.device,
        country: q.country,
        from: q.from,
        to: q.to,
        // Attention is visible time per row of the page: one column, drawn as full-width rows.
        cols: q.type === 'attention' ? 1 : undefined,
      },
    }),
  )
  // Scroll depth and attention get their lines and labels over the map.
  const overlays: Partial<Record<HeatmapKind, (v: StageOverlayView) => JSX.Element>> = {
    scroll: (v) => <ScrollDepthOverlay scope={heatmapQuery()!} view={v} />,
    attention: (v) => <AttentionOverlay scope={heatmapQuery()!} view={v} />,
  }
  const ranking = () => {
    const q = heatmapQuery()
    const sort = rankedBy[kind()]
    return q === undefined || sort === undefined ? undefined : { q, sort }
  }
  const compareHref = () => {
    const out: Record<string, string> = { type: kind(), b: range() }
    const p = page()
    if (p !== undefined) out.page = p
    const v = viewport()
    if (v !== undefined) out.viewport = v
    const c = custom()
    if (range() === 'custom' && c.from !== undefined && c.to !== undefined) {
      out.bFrom = c.from
      out.bTo = c.to
    }
    for (const [k, v] of [
      ['Device', device()],
      ['Country', country()],
    ] as const)
      if (v !== undefined) {
        out[`a${k}`] = v
        out[`b${k}`] = v
      }
    return `/sites/${params.siteId}/compare?${new URLSearchParams(out).toString()}`
  }
  const [liveTotal, setLiveTotal] = createSignal(0)
  createEffect(() => {
    heatmap()
    setLiveTotal(0)
  })

  // Live mode: only for types the actors stream, a range ending now and no device/country segment (the
  // stream carries every visitor of a viewport class).
  const liveReason = (): string | undefined => {
    if (!liveKinds.has(kind()))
      return 'Scroll depth is computed from finished page views; it has no live view.'
    if (segmented()) return 'Live counts are not split by device or country: clear those filters.'
    if (!rangeQuery(range(), custom()).endsNow) return 'Live mode needs a range that ends now.'
    return undefined
  }
  const liveOn = () => one(search.live) === '1' && liveReason() === undefined
  const [status, setStatus] = createSignal<StreamStatus>()
  const [visitors, setVisitors] = createSignal(0)
  const [rates, setRates] = createSignal<number[]>([])
  let stage: StageHandle | undefined

  createEffect(() => {
    if (!liveOn()) return setStatus(undefined)
    const p = page()
    if (p === undefined) return
    setRates([])
    const live = openLive(
      { siteId: params.siteId, page: p, type: kind(), viewport: viewport() },
      {
        // The stream now carries every change: read the map once more, and take deltas from when it lands
        // (one arriving while the read is under way may already be in it, and counting it twice is worse
        // than missing it until the next read).
        onHello: () => setNonce((n) => n + 1),
        onDelta: (cells) => {
          if (heatmap.loading) return
          stage?.addDelta(cells)
          let n = 0
          for (const c of cells) n += c[2]
          setLiveTotal((t) => t + n)
        },
        onSite: (v, eps) =>
          batch(() => {
            setVisitors(v)
            setRates((r) => [...r.slice(-(SPARK_POINTS - 1)), eps])
          }),
        onStatus: setStatus,
      },
    )
    onCleanup(() => live.close())
  })

  const grid = createMemo(() => {
    const h = heatmap.latest
    return h === undefined ? undefined : { xCells: h.xCells, yBandPx: h.yBandPx, cells: h.cells }
  })
  const total = () => (heatmap.latest?.total ?? 0) + liveTotal()

  const download = (blob: Blob, name: string) => {
    const url = URL.createObjectURL(blob)
    const a = document.createElement('a')
    a.href = url
    a.download = name
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 10_000)
  }
  const fileName = (ext: string) =>
    `heatmap-${(page() ?? 'page').replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '') || 'home'}-${kind()}.${ext}`
  const [exportError, setExportError] = createSignal<string>()
  const exportPng = async () => {
    setExportError(undefined)
    try {
      if (stage === undefined) throw new Error('nothing drawn yet')
      download(await stage.toPNG(), fileName('png'))
    } catch (e) {
      setExportError(errorText(e))
    }
  }
  const exportCsv = async () => {
    const q = heatmapQuery()
    if (q === undefined) return
    setExportError(undefined)
    try {
      const r = await apiResponse(`/v1/sites/${encodeURIComponent(q.siteId)}/export`, {
        query: {
          page: q.page,
          type: q.type,
          viewport: q.viewport,
          device: q.device,
          country: q.country,
          from: q.from,
          to: q.to,
          format: 'csv',
        },
      })
      download(await r.blob(), fileName('csv'))
    } catch (e) {
      setExportError(errorText(e))
    }
  }

  return (
    <section class="viewer" aria-labelledby="viewer-title">
      <p class="crumbs">
        <A href="/sites">Sites</A> / <A href={`/sites/${params.siteId}`}>{site()?.name ?? '…'}</A> /
        <Show when={auth.can('sessions:read')}>
          {' '}
          <A href={`/sites/${params.siteId}/sessions`}>Sessions of this site</A>
        </Show>
      </p>
      <h1 id="viewer-title">Heatmaps</h1>

      <form class="filters" aria-label="Filters" onSubmit={(e) => e.preventDefault()}>
        <MapFields kind={kind()} viewport={viewport()} set={set} />
        <SegmentFields
          state={{
            range: range(),
            from: custom().from,
            to: custom().to,
            device: device(),
            country: country(),
          }}
          set={set}
        />
        <label class="toggle" title={liveReason() ?? 'Update the map as visitors act'}>
          <input
            type="checkbox"
            name="live"
            checked={liveOn()}
            disabled={liveReason() !== undefined}
            onChange={(e) => set({ live: e.currentTarget.checked ? '1' : undefined })}
          />
          Live
        </label>
      </form>

      <div class="viewer-body" classList={{ 'has-aside': ranking() !== undefined }}>
        <nav class="pages" aria-label="Pages by traffic">
          <h2>Pages</h2>
          <Show when={pages.error}>
            <p class="error" role="alert">
              {errorText(pages.error)}
            </p>
          </Show>
          <Show when={pages()} fallback={<p class="muted">Loading…</p>}>
            {(list) => (
              <Show
                when={list().pages.length > 0}
                fallback={<p class="muted">No page views in this range.</p>}
              >
                <ol>
                  <For each={list().pages}>
                    {(p) => (
                      <li>
                        <button
                          type="button"
                          class="page-item"
                          aria-current={p.page === page() ? 'page' : undefined}
                          onClick={() => set({ page: p.page })}
                        >
                          <span class="page-path">{p.page}</span>
                          <span class="page-views">{p.views.toLocaleString()}</span>
                        </button>
                      </li>
                    )}
                  </For>
                </ol>
              </Show>
            )}
          </Show>
        </nav>

        <div class="viewer-main">
          <div class="viewer-status">
            <span data-testid="heatmap-total" data-loading={heatmap.loading ? 'true' : 'false'}>
              <strong>{total().toLocaleString()}</strong> {kindLabels[kind()].unit}
            </span>
            <Show when={page()}>
              <span class="muted"> on {page()}</span> · <A href={compareHref()}>Compare</A>
            </Show>
            <Show when={heatmap.loading}>
              <span class="muted" aria-live="polite">
                {' '}
                · loading…
              </span>
            </Show>
            <Show when={status()}>
              {(s) => (
                <span class="live-status" data-testid="live-status" data-state={s().state} aria-live="polite">
                  <Show when={s().state === 'live'}>
                    <span class="live-dot" aria-hidden="true" /> Live · {visitors()} visitor
                    {visitors() === 1 ? '' : 's'} · {(rates().at(-1) ?? 0).toFixed(1)} events/s{' '}
                    <Sparkline values={rates()} label="Events per second, last minute" />
                  </Show>
                  <Show when={s().state === 'connecting'}>Connecting…</Show>
                  <Show when={s().state === 'reconnecting'}>Reconnecting…</Show>
                  <Show when={refusal(s())}>{(m) => <span class="error">Live refused: {m()}</span>}</Show>
                </span>
              )}
            </Show>
          </div>
          <Show when={heatmap.error}>
            <p class="error" role="alert">
              {errorText(heatmap.error)}
            </p>
          </Show>
          <Show when={pages() !== undefined && page() === undefined}>
            <p>Nothing recorded for this site in this range yet. Install the snippet, then come back.</p>
          </Show>
          <Show when={page() !== undefined}>
            <HeatmapStage
              grid={grid()}
              documentWidth={layoutWidth[viewport() ?? 'all']}
              style={style()}
              unit={kindLabels[kind()].unit}
              label={`${kindLabels[kind()].label} heatmap of ${page()}`}
              ref={(h) => {
                stage = h
              }}
              overlay={overlays[kind()]}
              background={{ siteId: params.siteId, page: page()! }}
            />
          </Show>
          <fieldset class="style-controls">
            <legend>Display</legend>
            <label>
              Radius
              <input
                type="range"
                min="4"
                max="80"
                value={style().radius}
                onInput={(e) => setStyle((s) => ({ ...s, radius: Number(e.currentTarget.value) }))}
              />
            </label>
            <label>
              Intensity
              <input
                type="range"
                min="0.25"
                max="8"
                step="0.25"
                value={style().intensity}
                onInput={(e) => setStyle((s) => ({ ...s, intensity: Number(e.currentTarget.value) }))}
              />
            </label>
            <label>
              Opacity
              <input
                type="range"
                min="0.1"
                max="1"
                step="0.05"
                value={style().opacity}
                onInput={(e) => setStyle((s) => ({ ...s, opacity: Number(e.currentTarget.value) }))}
              />
            </label>
            <Show when={auth.can('heatmaps:export')}>
              <button type="button" data-export="png" onClick={() => void exportPng()}>
                Export PNG
              </button>
              <button type="button" data-export="csv" onClick={() => void exportCsv()}>
                Export CSV
              </button>
            </Show>
            <button type="button" onClick={() => setNonce((n) => n + 1)}>
              Reload
            </button>
          </fieldset>
          <Show when={exportError()}>
            <p class="error" role="alert">
              {exportError()}
            </p>
          </Show>
        </div>
        <Show when={ranking()}>{(r) => <ElementRanking scope={r().q} sort={r().sort} />}</Show>
      </div>
    </section>
  )
}

export default function HeatmapPage() {
  return (
    <Guard permission="heatmaps:read">
      <Viewer />
    </Guard>
  )
}
