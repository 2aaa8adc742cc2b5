import { createSignal, onCleanup, onMount, type ParentProps } from 'solid-js'

/**
 * A wide table's frame: the table scrolls sideways inside it on a narrow screen instead of pushing the
 * page wider. While it does scroll it is a named region in the tab order, so a keyboard can scroll it
 * too (a table with no links or buttons would otherwise be out of reach); while everything fits it is a
 * plain box and adds no tab stop.
 */
export function TableWrap(props: ParentProps<{ label: string }>) {
  let el!: HTMLDivElement
  const [scrolls, setScrolls] = createSignal(false)
  onMount(() => {
    const measure = () => setScrolls(el.scrollWidth > el.clientWidth + 1)
    const ro = new ResizeObserver(measure)
    ro.observe(el)
    // Rows arriving widen the table without resizing the frame.
    const mo = new MutationObserver(measure)
    mo.observe(el, { childList: true, subtree: true, characterData: true })
    onCleanup(() => {
      ro.disconnect()
      mo.disconnect()
    })
  })
  return (
    // biome-ignore lint/a11y/useAriaPropsSupportedByRole: the label comes with the region role, both only while the table scrolls
    <div
      ref={el}
      class="table-wrap"
      role={scrolls() ? 'region' : undefined}
      aria-label={scrolls() ? props.label : undefined}
      tabIndex={scrolls() ? 0 : undefined}
    >
      {props.children}
    </div>
  )
}
