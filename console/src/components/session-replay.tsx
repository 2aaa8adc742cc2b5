import { createEffect, createMemo, createSignal, For, onCleanup, onMount, Show } from 'solid-js'
import type { TimelineEvent } from '../api/types'
import './sessions.css'

/** Events the cursor is at: it glides between them. */
const positional: ReadonlySet<string> = new Set(['move', 'click', 'rage', 'dead'])
const pressed: ReadonlySet<string> = new Set(['click', 'rage', 'dead'])
/** How long a click's ripple shows, ms of session time. */
const RIPPLE_MS = 900
/** Playback jumps over a quiet stretch longer than this, to just before the next event. */
const IDLE_SKIP_MS = 3000
const IDLE_LEAD_MS = 500
const speeds = [1, 2, 4, 8] as const

const eventLabels: Record<string, string> = {
  pageview: 'Page view',
  click: 'Click',
  rage: 'Rage clicks',
  dead: 'Dead click',
  scroll: 'Scroll',
  move: 'Move',
  attention: 'Attention',
}

/** `m:ss` of a position in the session. */
const clock = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

/** The last index whose event happened at or before `ts` (-1 when none did). */
function lastAtOrBefore(events: readonly TimelineEvent[], ts: number): number {
  let lo = 0
  let hi = events.length - 1
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    if (events[mid]!.ts <= ts) {
      found = mid
      lo = mid + 1
    } else hi = mid - 1
  }
  return found
}

/**
 * A session's cursor replayed over time: a stage the size of the visitor's viewport (scaled to fit)
 * where the cursor glides between the recorded positions, clicks ripple, rage bursts and dead clicks are
 * marked, and the view follows the visitor's scrolling; play/pause, speed and a position slider whose
 * track carries the frustration markers. Scrubbing redraws from the timeline, so any moment can be seen.
 */
export function SessionReplay(props: { timeline: TimelineEvent[] }) {
  const events = createMemo(() => props.timeline)
  const t0 = () => events()[0]?.ts ?? 0
  const duration = () => Math.max(1, (events().at(-1)?.ts ?? 0) - t0())
  const [pos, setPos] = createSignal(0)
  const [playing, setPlaying] = createSignal(false)
  const [speed, setSpeed] = createSignal<number>(1)
  const [skipIdle, setSkipIdle] = createSignal(true)
  const [width, setWidth] = createSignal(800)
  let frame: HTMLDivElement | undefined

  onMount(() => {
    if (frame === undefined) return
    const ro = new ResizeObserver(([e]) => setWidth(e?.contentRect.width ?? 800))
    ro.observe(frame)
    onCleanup(() => ro.disconnect())
  })

  // Playback: session time advances with the wall clock times the speed, one step per animation frame.
  createEffect(() => {
    if (!playing()) return
    let last = performance.now()
    let raf = requestAnimationFrame(function step(now) {
      let next = pos() + (now - last) * speed()
      last = now
      if (skipIdle()) {
        const upcoming = events()[lastAtOrBefore(events(), t0() + next) + 1]
        if (upcoming !== undefined && upcoming.ts - t0() - next > IDLE_SKIP_MS)
          next = upcoming.ts - t0() - IDLE_LEAD_MS
      }
      if (next >= duration()) {
        setPos(duration())
        setPlaying(false)
        return
      }
      setPos(next)
      raf = requestAnimationFrame(step)
    })
    onCleanup(() => cancelAnimationFrame(raf))
  })

  const now = () => t0() + pos()
  const current = createMemo(() => events()[Math.max(0, lastAtOrBefore(events(), now()))])
  const page = () => current()?.page ?? ''
  const vw = () => Math.max(1, current()?.vw ?? 1280)
  const vh = () => Math.max(1, current()?.vh ?? 800)
  const dh = () => Math.max(vh(), current()?.dh ?? vh())
  const scale = () => Math.min(1, width() / vw())

  /** The cursor in document pixels: between the last position and the next one on the same page. */
  const cursor = createMemo(() => {
    const list = events()
    const t = now()
    let prev: TimelineEvent | undefined
    for (let i = lastAtOrBefore(list, t); i >= 0; i--) {
      const e = list[i]!
      if (e.page !== page()) break
      if (positional.has(e.type)) {
        prev = e
        break
      }
    }
    if (prev === undefined) return undefined
    let next: TimelineEvent | undefined
    for (let i = lastAtOrBefore(list, t) + 1; i < list.length; i++) {
      const e = list[i]!
      if (e.page !== prev.page) break
      if (positional.has(e.type)) {
        next = e
        break
      }
    }
    if (next === undefined || next.ts === prev.ts) return { x: prev.x, y: prev.y }
    const k = Math.min(1, Math.max(0, (t - prev.ts) / (next.ts - prev.ts)))
    return { x: prev.x + (next.x - prev.x) * k, y: prev.y + (next.y - prev.y) * k }
  })

  /** Top of the visible part of the document: where the visitor scrolled to, moved to keep the cursor in view. */
  const scrollTop = createMemo(() => {
    const list = events()
    let top = 0
    for (let i = lastAtOrBefore(list, now()); i >= 0; i--) {
      const e = list[i]!
      if (e.page !== page()) break
      if (e.type === 'scroll') {
        top = e.y - vh()
        break
      }
    }
    const c = cursor()
    if (c !== undefined && (c.y < top || c.y > top + vh())) top = c.y - vh() / 2
    return Math.round(Math.min(Math.max(0, top), dh() - vh()))
  })

  /** Clicks of the last moment, as ripples growing and fading with their age. */
  const ripples = createMemo(() => {
    const list = events()
    const t = now()
    const out: Array<{ e: TimelineEvent; age: number }> = []
    for (let i = lastAtOrBefore(list, t); i >= 0; i--) {
      const e = list[i]!
      if (t - e.ts > RIPPLE_MS) break
      if (pressed.has(e.type) && e.page === page()) out.push({ e, age: (t - e.ts) / RIPPLE_MS })
    }
    return out
  })

  const markers = createMemo(() =>
    events()
      .filter((e) => e.type === 'rage' || e.type === 'dead')
      .map((e) => ({ e, at: (e.ts - t0()) / duration() })),
  )
  const listed = createMemo(() => events().filter((e) => e.type !== 'move' && e.type !== 'attention'))

  const toggle = () => {
    if (!playing() && pos() >= duration()) setPos(0)
    setPlaying(!playing())
  }
  const seek = (ms: number) => setPos(Math.min(duration(), Math.max(0, ms)))

  return (
    <section class="replay" aria-labelledby="replay-title">
      <h2 id="replay-title">Replay</h2>
      <p class="muted replay-where">
        <span data-testid="replay-page">{page()}</span> · viewport {vw()}×{vh()} · scrolled to {scrollTop()}{' '}
        px of {dh()} px
      </p>
      <div class="replay-frame" ref={frame} style={{ height: `${vh() * scale()}px` }}>
        <div
          class="replay-stage"
          data-testid="replay-stage"
          role="img"
          aria-label={`Cursor of the session on ${page()}`}
          style={{
            width: `${vw()}px`,
            height: `${vh()}px`,
            transform: `scale(${scale()})`,
            'background-position': `0 ${-scrollTop()}px`,
          }}
        >
          <For each={ripples()}>
            {(r) => (
              <span
                class={`ripple ${r.e.type}`}
                data-testid={`replay-ripple-${r.e.type}`}
                style={{
                  left: `${r.e.x}px`,
                  top: `${r.e.y - scrollTop()}px`,
                  '--size': `${(r.e.type === 'rage' ? 28 : 16) + r.age * 40}px`,
                  opacity: String(1 - r.age),
                }}
              >
                <Show when={r.e.type === 'rage'}>
                  <span class="ripple-label">×{r.e.value}</span>
                </Show>
              </span>
            )}
          </For>
          <Show when={cursor()}>
            {(c) => (
              <span
                class="replay-cursor"
                data-testid="replay-cursor"
                data-x={Math.round(c().x)}
                data-y={Math.round(c().y)}
                style={{ left: `${c().x}px`, top: `${c().y - scrollTop()}px` }}
              />
            )}
          </Show>
        </div>
      </div>
      <div class="replay-controls">
        <button type="button" class="primary" onClick={toggle} aria-pressed={playing()}>
          {playing() ? 'Pause' : 'Play'}
        </button>
        <div class="replay-track">
          <input
            type="range"
            aria-label="Position in the session"
            min="0"
            max={duration()}
            step="1"
            value={Math.round(pos())}
            aria-valuetext={`${clock(pos())} of ${clock(duration())}`}
            onInput={(e) => seek(Number(e.currentTarget.value))}
          />
          <For each={markers()}>
            {(m) => (
              <button
                type="button"
                class={`track-marker ${m.e.type}`}
                data-testid={`replay-marker-${m.e.type}`}
                style={{ left: `${m.at * 100}%` }}
                title={`${eventLabels[m.e.type]} at ${clock(m.e.ts - t0())}${m.e.selector ? ` on ${m.e.selector}` : ''}`}
                aria-label={`${eventLabels[m.e.type]} at ${clock(m.e.ts - t0())}`}
                onClick={() => seek(m.e.ts - t0())}
              />
            )}
          </For>
        </div>
        <span class="replay-clock" data-testid="replay-clock">
          {clock(pos())} / {clock(duration())}
        </span>
        <label class="replay-skip" title={`Jump over pauses longer than ${IDLE_SKIP_MS / 1000} s`}>
          <input
            type="checkbox"
            checked={skipIdle()}
            onChange={(e) => setSkipIdle(e.currentTarget.checked)}
          />
          Skip pauses
        </label>
        <label class="replay-speed">
          <span class="visually-hidden">Speed</span>
          <select value={speed()} onChange={(e) => setSpeed(Number(e.currentTarget.value))}>
            <For each={speeds}>{(s) => <option value={s}>{s}×</option>}</For>
          </select>
        </label>
      </div>
      <h3>Timeline</h3>
      <ol class="timeline">
        <For each={listed()}>
          {(e) => (
            <li classList={{ [e.type]: true, past: e.ts <= now() }}>
              <button type="button" class="link" onClick={() => seek(e.ts - t0())}>
                {clock(e.ts - t0())}
              </button>{' '}
              <strong>{eventLabels[e.type] ?? e.type}</strong> <span class="muted">{e.page}</span>
              <Show when={pressed.has(e.type)}>
                {' '}
                at {e.x}, {e.y}
                <Show when={e.selector}>
                  {' '}
                  on <code>{e.selector}</code>
                </Show>
                <Show when={e.type === 'rage'}> · {e.value} clicks</Show>
              </Show>
              <Show when={e.type === 'scroll'}> to {e.value} px</Show>
            </li>
          )}
        </For>
      </ol>
    </section>
  )
}
