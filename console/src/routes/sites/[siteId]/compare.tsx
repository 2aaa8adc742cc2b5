import { A, useParams } from '@solidjs/router'
import { createMemo, createResource, createSignal, For, Show } from 'solid-js'
import { type CompareNorm, type ComparePart, getComparison } from '../../../api/analysis'
import { api, errorText } from '../../../api/client'
import {
  type HeatmapKind,
  heatmapKinds,
  type PagesAnswer,
  type ViewportClass,
  viewportClasses,
  type Website,
} from '../../../api/types'
import { Guard } from '../../../auth/guard'
import {
  describeRange,
  resolveSides,
  type SideRange,
  type SideState,
} from '../../../components/compare-range'
import { HeatmapStage } from '../../../components/heatmap-stage'
import { kindLabels, layoutWidth, MapFields } from '../../../components/map-fields'
import { type SegmentChange, SegmentFields } from '../../../components/segment-fields'
import type { HeatmapStyle } from '../../../heatmap'
import { one, useAddressState } from '../../../lib/address'
import { type RangeId, rangePresets, rangeQuery } from '../../../lib/range'
import '../../../components/analysis.css'

const STYLE: HeatmapStyle = { radius: 24, intensity: 1, opacity: 0.8, ramp: 'heat' }

type Params = {
  page?: string
  type?: string
  viewport?: string
  per?: string
  a?: string
  aFrom?: string
  aTo?: string
  aDevice?: string
  aCountry?: string
  b?: string
  bFrom?: string
  bTo?: string
  bDevice?: string
  bCountry?: string
}

const presetIds: ReadonlyArray<string> = rangePresets.map((p) => p.id)
const count = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 })

function segmentText(p: ComparePart): string {
  const parts = [p.segment.device, p.segment.country].filter((x): x is string => !!x)
  return parts.length > 0 ? parts.join(' · ') : 'all visitors'
}

/** The range, device and country of one side; side A also offers "before B" and "same as B". */
function SideControls(props: {
  side: 'a' | 'b'
  title: string
  state: SideState
  set: (change: SegmentChange) => void
}) {
  return (
    <fieldset class="compare-side filters" data-side={props.side}>
      <legend>{props.title}</legend>
      <SegmentFields prefix={`${props.side}-`} state={props.state} set={props.set}>
        <Show when={props.side === 'a'}>
          <option value="prev">Period before B</option>
          <option value="same">Same as B</option>
        </Show>
      </SegmentFields>
    </fieldset>
  )
}

function Compare() {
  const params = useParams<{ siteId: string }>()
  // Everything the comparison shows lives in the address, so it can be bookmarked and shared.
  const [search, set] = useAddressState<Params>()
  const kind = (): HeatmapKind => {
    const t = one(search.type)
    return (heatmapKinds as readonly string[]).includes(t ?? '') ? (t as HeatmapKind) : 'click'
  }
  const viewport = (): ViewportClass | undefined => {
    const v = one(search.viewport)
    return (viewportClasses as readonly string[]).includes(v ?? '') ? (v as ViewportClass) : undefined
  }
  const per = (): CompareNorm => (one(search.per) === 'total' ? 'total' : 'view')
  const sideState = (s: 'a' | 'b'): SideState => {
    const r = one(search[s])
    const allowed = s === 'a' ? [...presetIds, 'custom', 'same', 'prev'] : [...presetIds, 'custom']
    return {
      range: (allowed.includes(r ?? '') ? r : s === 'a' ? 'prev' : '7d') as SideRange,
      from: one(search[`${s}From`]),
      to: one(search[`${s}To`]),
      device: one(search[`${s}Device`]),
      country: one(search[`${s}Country`])?.toUpperCase(),
    }
  }
  const setSide = (s: 'a' | 'b', c: SegmentChange) => {
    const out: Partial<Params> = {}
    for (const [k, v] of Object.entries(c))
      out[(k === 'range' ? s : `${s}${k[0]!.toUpperCase()}${k.slice(1)}`) as keyof Params] = v
    set(out)
  }

  const [site] = createResource(
    () => params.siteId,
    (id) => api<Website>(`/v1/sites/${encodeURIComponent(id)}`),
  )
  // Pages to pick from: those visited in B's range.
  const [pages] = createResource(
    () => ({ siteId: params.siteId, b: sideState('b'), viewport: viewport() }),
    (q) => {
      const r = rangeQuery(q.b.range as RangeId, { from: q.b.from, to: q.b.to })
      return api<PagesAnswer>(`/v1/sites/${encodeURIComponent(q.siteId)}/pages`, {
        query: { from: r.from, to: r.to, viewport: q.viewport, limit: 200 },
      })
    },
  )
  const page = () => one(search.page) ?? pages()?.pages[0]?.page

  const query = createMemo(() => {
    const p = page()
    if (p === undefined) return undefined
    const sides = resolveSides(sideState('a'), sideState('b'))
    return { siteId: params.siteId, page: p, type: kind(), viewport: viewport(), per: per(), ...sides }
  })
  const [comparison] = createResource(query, getComparison)

  const grid = (cells: ComparePart['cells'] | undefined) => {
    const c = comparison.latest
    return c === undefined || cells === undefined
      ? undefined
      : { xCells: c.xCells, yBandPx: c.yBandPx, cells }
  }
  // Both sides on one scale, so the same rate is the same colour on either.
  const [peakA, setPeakA] = createSignal(0)
  const [peakB, setPeakB] = createSignal(0)
  const sideStyle = createMemo((): HeatmapStyle => {
    const scale = Math.max(peakA(), peakB())
    return { ...STYLE, scale: scale > 0 ? scale : undefined }
  })
  const diffStyle: HeatmapStyle = { ...STYLE, ramp: 'diverging', opacity: 0.9 }
  const unit = () =>
    per() === 'total' ? `share of ${kindLabels[kind()].unit}` : `${kindLabels[kind()].unit} per page view`
  const docWidth = () => layoutWidth[viewport() ?? 'all']

  const Side = (p: { side: 'a' | 'b' }) => {
    const part = () => comparison.latest?.[p.side]
    return (
      <figure class="compare-map" data-testid={`compare-${p.side}`}>
        <figcaption>
          <strong>{p.side.toUpperCase()}</strong>
          <Show when={part()} fallback={<span class="muted"> …</span>}>
            {(s) => (
              <>
                {' '}
                {describeRange(s().from, s().to)} · {segmentText(s())} ·{' '}
                <span data-testid={`compare-${p.side}-views`}>{count.format(s().views)} page views</span> ·{' '}
                {count.format(s().total)} {kindLabels[kind()].unit}
              </>
            )}
          </Show>
        </figcaption>
        <HeatmapStage
          grid={grid(part()?.cells)}
          documentWidth={docWidth()}
          style={sideStyle()}
          unit={unit()}
          label={`${kindLabels[kind()].label}, side ${p.side.toUpperCase()}, of ${page()}`}
          onLegend={(l) => (p.side === 'a' ? setPeakA(l.peak) : setPeakB(l.peak))}
        />
      </figure>
    )
  }

  return (
    <section class="compare" aria-labelledby="compare-title">
      <p class="crumbs">
        <A href="/sites">Sites</A> / <A href={`/sites/${params.siteId}`}>{site()?.name ?? '…'}</A> /{' '}
        <A href={`/sites/${params.siteId}/heatmap?${new URLSearchParams(heatmapParams()).toString()}`}>
          Heatmaps
        </A>
      </p>
      <h1 id="compare-title">Compare</h1>

      <form class="filters" aria-label="What to compare" onSubmit={(e) => e.preventDefault()}>
        <label>
          Page
          <select name="page" value={page() ?? ''} onChange={(e) => set({ page: e.currentTarget.value })}>
            <Show when={page() !== undefined && !pages()?.pages.some((p) => p.page === page())}>
              <option value={page()}>{page()}</option>
            </Show>
            <For each={pages()?.pages ?? []}>{(p) => <option value={p.page}>{p.page}</option>}</For>
          </select>
        </label>
        <MapFields kind={kind()} viewport={viewport()} set={set} />
        <label>
          Normalise
          <select
            name="per"
            value={per()}
            onChange={(e) => set({ per: e.currentTarget.value === 'total' ? 'total' : undefined })}
          >
            <option value="view">Per page view</option>
            <option value="total">As a share of the side's total</option>
          </select>
        </label>
      </form>
      <div class="compare-sides">
        <SideControls side="a" title="A" state={sideState('a')} set={(c) => setSide('a', c)} />
        <SideControls side="b" title="B" state={sideState('b')} set={(c) => setSide('b', c)} />
      </div>

      <Show when={comparison.error ?? pages.error}>
        {(e) => (
          <p class="error" role="alert">
            {errorText(e())}
          </p>
        )}
      </Show>
      <Show when={pages() !== undefined && page() === undefined}>
        <p>Nothing recorded for this site in B's range yet.</p>
      </Show>
      <Show when={page() !== undefined}>
        <p class="muted" aria-live="polite">
          {comparison.loading ? 'Loading…' : `${kindLabels[kind()].label} on ${page()}, ${unit()}.`}
        </p>
        <div class="compare-maps">
          <Side side="a" />
          <Side side="b" />
        </div>
        <section class="compare-diff" data-testid="compare-diff" aria-labelledby="diff-title">
          <h2 id="diff-title">Difference, B − A</h2>
          <p class="muted">
            Red where B has more {unit()}, blue where it has fewer, no colour where they are equal. Each side
            is normalised {per() === 'total' ? 'by its own total' : 'per page view'}, so ranges of different
            length compare fairly.
          </p>
          <HeatmapStage
            grid={grid(comparison.latest?.diff)}
            documentWidth={docWidth()}
            style={diffStyle}
            background={{ siteId: params.siteId, page: page()! }}
            unit={`${unit()}, B − A`}
            label={`Difference of ${kindLabels[kind()].label.toLowerCase()} between B and A on ${page()}`}
          />
          <p class="diverging-key" aria-hidden="true">
            <span>← fewer in B</span>
            <span>no change</span>
            <span>more in B →</span>
          </p>
        </section>
      </Show>
    </section>
  )

  /** The heatmap viewer's address for this page, type, viewport and B's range. */
  function heatmapParams(): Record<string, string> {
    const b = sideState('b')
    const out: Record<string, string> = { type: kind() }
    const p = page()
    if (p !== undefined) out.page = p
    if (viewport() !== undefined) out.viewport = viewport()!
    out.range = b.range
    if (b.range === 'custom' && b.from !== undefined && b.to !== undefined) {
      out.from = b.from
      out.to = b.to
    }
    if (b.device !== undefined) out.device = b.device
    if (b.country !== undefined) out.country = b.country
    return out
  }
}

export default function ComparePage() {
  return (
    <Guard permission="heatmaps:read">
      <Compare />
    </Guard>
  )
}
