import {
  type Accessor,
  createEffect,
  createMemo,
  createResource,
  createSignal,
  createUniqueId,
  on,
  onCleanup,
  Show,
} from 'solid-js'
import { errorText } from '../api/client'
import { getPageView, getScreenshot, type PageView } from '../api/page-views'

/** Which page a heatmap is drawn over, at the layout width of its viewport class. */
export interface BackgroundSource {
  siteId: string
  /** The page as the heatmap lists it (a path of the site) or a whole URL on it. */
  page: string
  width: number
}

/** What the user picked: the frame where allowed else a screenshot, one of the two, or nothing. */
export type BackgroundChoice = 'auto' | 'frame' | 'screenshot'
/** What is shown. */
export type BackgroundMode = 'frame' | 'screenshot' | 'none'

export interface PageBackground {
  choice: Accessor<BackgroundChoice>
  setChoice(c: BackgroundChoice): void
  visible: Accessor<boolean>
  setVisible(v: boolean): void
  view: Accessor<PageView | undefined>
  mode: Accessor<BackgroundMode>
  /** The frame's page or the screenshot's object URL. */
  src: Accessor<string | undefined>
  state: Accessor<'loading' | 'ready' | 'none'>
  /** Why the page is not shown (the map then stands on the blank stage). */
  note: Accessor<string | undefined>
  /** The page's document height in px at the width, when known: the stage scrolls at least that far. */
  height: Accessor<number | undefined>
  loaded(): void
}

/**
 * The page behind a heatmap: the live page in a frame where its headers allow the console's origin,
 * else a screenshot the gateway takes with headless Chromium at the same width. Either fails without
 * breaking the map: it is then drawn on the blank stage, with a note saying why.
 */
export function createPageBackground(source: Accessor<BackgroundSource | undefined>): PageBackground {
  const [choice, setChoice] = createSignal<BackgroundChoice>('auto')
  const [visible, setVisible] = createSignal(true)
  const [loadedSrc, setLoadedSrc] = createSignal<string>()

  const [view] = createResource(
    () => (visible() ? source() : undefined),
    (s) => getPageView(s.siteId, s.page, s.width),
  )
  const mode = createMemo<BackgroundMode>(() => {
    const v = view.error === undefined ? view() : undefined
    if (!visible() || v === undefined) return 'none'
    switch (choice()) {
      case 'frame':
        return v.frameable ? 'frame' : 'none'
      case 'screenshot':
        return v.screenshots ? 'screenshot' : 'none'
      default:
        return v.frameable ? 'frame' : v.screenshots ? 'screenshot' : 'none'
    }
  })
  const [shot] = createResource(
    () => {
      const s = source()
      const v = view.error === undefined ? view() : undefined
      return mode() === 'screenshot' && s !== undefined && v !== undefined ? { ...s, url: v.url } : undefined
    },
    (q) => getScreenshot(q.siteId, q.url, q.width),
  )
  const shotUrl = createMemo(() => {
    const s = shot.error === undefined ? shot() : undefined
    return s === undefined ? undefined : URL.createObjectURL(s.blob)
  })
  createEffect(
    on(shotUrl, (url) => {
      if (url !== undefined) onCleanup(() => URL.revokeObjectURL(url))
    }),
  )

  const src = () => {
    if (mode() === 'frame') return view()?.url
    if (mode() === 'screenshot') return shotUrl()
    return undefined
  }
  const note = (): string | undefined => {
    if (!visible()) return undefined
    if (view.error !== undefined) return `The page is not shown: ${errorText(view.error)}`
    const v = view()
    if (v === undefined) return undefined
    if (choice() === 'frame' && !v.frameable)
      return `The site does not let the console frame this page (${v.reason}); choose Screenshot`
    if (mode() === 'none')
      return v.frameable
        ? 'Screenshots are off on this gateway; choose Framed page'
        : `The site does not let the console frame this page (${v.reason}) and screenshots are off on this gateway.`
    if (mode() === 'screenshot' && shot.error !== undefined)
      return `No screenshot of the page: ${errorText(shot.error)}`
    if (mode() === 'screenshot' && shot()?.stale === true)
      return `A new screenshot could not be taken; this one is from ${new Date(shot()!.capturedAt).toLocaleString()}.`
    return undefined
  }
  const state = (): 'loading' | 'ready' | 'none' => {
    if (view.loading || (mode() === 'screenshot' && shot.loading)) return 'loading'
    const s = src()
    if (s === undefined) return 'none'
    return loadedSrc() === s ? 'ready' : 'loading'
  }
  return {
    choice,
    setChoice,
    visible,
    setVisible,
    view: () => (view.error === undefined ? view() : undefined),
    mode,
    src,
    state,
    note,
    height: () => {
      if (mode() === 'screenshot') return shot.error === undefined ? shot()?.pageHeight : undefined
      return mode() === 'frame' ? view()?.pageHeight : undefined
    },
    loaded: () => setLoadedSrc(src()),
  }
}

/**
 * The show/hide toggle, the source picker and a line saying what is shown or why nothing is. The stage
 * puts them below the map, so a note arriving late moves nothing the pointer may be over.
 */
export function BackgroundControls(props: { bg: PageBackground }) {
  const bg = () => props.bg
  const id = createUniqueId()
  const line = (): string => {
    const n = bg().note()
    if (n !== undefined) return `${/[.!?]$/.test(n) ? n : `${n}.`} The heatmap is drawn on a blank stage.`
    if (bg().state() === 'loading') return 'Loading the page…'
    if (bg().state() === 'ready')
      return `${bg().mode() === 'frame' ? 'Framed page' : 'Screenshot'} of ${bg().view()?.url ?? ''}`
    return ''
  }
  return (
    <div class="page-bg-controls">
      <label class="toggle">
        <input
          type="checkbox"
          checked={bg().visible()}
          onChange={(e) => bg().setVisible(e.currentTarget.checked)}
        />
        Show the page
      </label>
      <span class="page-bg-from">
        <label for={id}>Page from</label>
        <select
          id={id}
          value={bg().choice()}
          disabled={!bg().visible()}
          onChange={(e) => bg().setChoice(e.currentTarget.value as BackgroundChoice)}
        >
          <option value="auto">Automatic</option>
          <option value="frame">Framed page</option>
          <option value="screenshot">Screenshot</option>
        </select>
      </span>
      <span
        class="page-bg-status muted"
        role="status"
        data-testid="page-background-status"
        data-note={bg().note() !== undefined ? 'true' : undefined}
      >
        {line()}
      </span>
    </div>
  )
}

/**
 * The page itself, laid out at the document width in real CSS px and scaled as a whole with the stage,
 * so a document pixel of the page sits under the same document pixel of the heatmap at any console size.
 *
 * The frame is sandboxed with nothing allowed: no scripts, no same-origin, no forms, popups or top
 * navigation. Scripts would render pages built by JavaScript, but they would also run the site's own
 * heatmap SDK inside the console, counting every look at a heatmap as a visit. Without scripts the
 * frame shows server-rendered pages as they are; for a page built by scripts, the screenshot (Chromium
 * runs its scripts with the SDK's posts blocked) is the view to pick. Without same-origin the page could
 * not read the console's storage (its tokens) even if its scripts ran.
 */
export function BackgroundLayer(props: { bg: PageBackground; width: number; height: number; scale: number }) {
  return (
    <Show when={props.bg.src()}>
      {(src) => (
        <div
          class="page-bg"
          data-testid="page-background"
          data-mode={props.bg.mode()}
          data-state={props.bg.state()}
          aria-hidden="true"
          style={{
            width: `${props.width}px`,
            height: `${props.height}px`,
            transform: `scale(${props.scale})`,
          }}
        >
          <Show
            when={props.bg.mode() === 'frame'}
            fallback={<img src={src()} alt="" width={props.width} onLoad={() => props.bg.loaded()} />}
          >
            <iframe
              src={src()}
              title="The page behind the heatmap"
              sandbox=""
              referrerpolicy="no-referrer"
              tabIndex={-1}
              // A scrollbar inside the frame would take its width from the layout: the page scrolls with the stage.
              ref={(el) => el.setAttribute('scrolling', 'no')}
              style={{ width: `${props.width}px`, height: `${props.height}px` }}
              onLoad={() => props.bg.loaded()}
            />
          </Show>
        </div>
      )}
    </Show>
  )
}
