import { createEffect, createResource, createSignal, For, on, Show } from 'solid-js'
import { type ElementSort, getElements, type PageScope } from '../api/analysis'
import { errorText } from '../api/client'
import './analysis.css'
import { TableWrap } from './table-wrap'

const count = new Intl.NumberFormat()
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 })

const columns: Array<{ sort: ElementSort; label: string; title: string }> = [
  { sort: 'clicks', label: 'Clicks', title: 'Clicks on the element' },
  { sort: 'rage', label: 'Rage', title: 'Rage-click bursts (the clicks they held in the tooltip)' },
  { sort: 'dead', label: 'Dead', title: 'Clicks that changed nothing' },
]

/**
 * The page's most clicked elements, ranked: selector, clicks, share of the page's element clicks, rage
 * bursts and dead clicks. The order follows the map's type (a rage-click map ranks by rage) until the
 * reader picks a column; the column buttons are ordinary buttons, so the keyboard sorts as the mouse does.
 * Each row's selector is a button that copies it.
 */
export function ElementRanking(props: { scope: PageScope; sort: ElementSort }) {
  const [sort, setSort] = createSignal<ElementSort>(props.sort)
  createEffect(
    on(
      () => props.sort,
      (s) => setSort(s),
      { defer: true },
    ),
  )
  const [answer] = createResource(() => ({ ...props.scope, sort: sort() }), getElements)
  const [copied, setCopied] = createSignal<string>()
  // The selector is what finds the element again: in the browser's developer tools, a test, a tag manager.
  const copy = async (selector: string) => {
    try {
      await navigator.clipboard.writeText(selector)
      setCopied(`Copied ${selector}`)
    } catch (e) {
      setCopied(`Could not copy ${selector}: ${errorText(e)}`)
    }
  }
  return (
    <section class="elements-panel" aria-labelledby="elements-title">
      <h2 id="elements-title">Top elements</h2>
      <Show when={answer.error}>
        <p class="error" role="alert">
          {errorText(answer.error)}
        </p>
      </Show>
      <Show when={answer.latest} fallback={<p class="muted">Loading…</p>}>
        {(a) => (
          <Show
            when={a().elements.length > 0}
            fallback={<p class="muted">No clicks on identified elements in this range.</p>}
          >
            <p class="muted" data-testid="element-total">
              {count.format(a().totalClicks)} clicks on elements
            </p>
            <TableWrap label="Table of top elements">
              <table class="elements" data-testid="element-ranking" aria-busy={answer.loading}>
                <caption class="visually-hidden">
                  Elements of {a().page} by {columns.find((c) => c.sort === sort())?.label.toLowerCase()}
                </caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Element</th>
                    <For each={columns}>
                      {(c) => (
                        <th
                          scope="col"
                          class="num"
                          aria-sort={sort() === c.sort ? 'descending' : undefined}
                          title={c.title}
                        >
                          <button
                            type="button"
                            class="sort"
                            aria-pressed={sort() === c.sort}
                            onClick={() => setSort(c.sort)}
                          >
                            {c.label}
                          </button>
                        </th>
                      )}
                    </For>
                    <th scope="col" class="num">
                      Share
                    </th>
                  </tr>
                </thead>
                <tbody>
                  <For each={a().elements}>
                    {(e, i) => (
                      <tr data-testid="element-row" data-selector={e.selector}>
                        <td class="num rank">{i() + 1}</td>
                        <th scope="row" class="selector">
                          <button
                            type="button"
                            class="copy-selector"
                            title={`Copy ${e.selector}`}
                            onClick={() => void copy(e.selector)}
                          >
                            <code>{e.selector}</code>
                          </button>
                        </th>
                        <td class="num" data-col="clicks">
                          {count.format(e.clicks)}
                        </td>
                        <td
                          class="num"
                          classList={{ frustrated: e.rage > 0 }}
                          data-col="rage"
                          title={`${e.rage} bursts, ${e.rageClicks} clicks`}
                        >
                          {count.format(e.rage)}
                        </td>
                        <td class="num" classList={{ frustrated: e.dead > 0 }} data-col="dead">
                          {count.format(e.dead)}
                        </td>
                        <td class="num share" data-col="share">
                          <span class="share-bar" style={{ width: `${Math.round(e.share * 100)}%` }} />
                          <span class="share-value">{percent.format(e.share)}</span>
                        </td>
                      </tr>
                    )}
                  </For>
                </tbody>
              </table>
            </TableWrap>
            <p class="muted copy-status" role="status">
              {copied()}
            </p>
          </Show>
        )}
      </Show>
    </section>
  )
}
