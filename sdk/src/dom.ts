export const IGNORE = '[data-hm-ignore]'
export const MASK = '[data-hm-mask]'

function esc(s: string): string {
  return typeof CSS !== 'undefined' && CSS.escape ? CSS.escape(s) : s.replace(/[^\w-]/g, '\\$&')
}

/**
 * A CSS selector for an element, built from structure only (never text): the nearest id, else up to
 * five levels of `tag.class:nth-of-type(n)`. Inside `data-hm-mask` even ids and class names are content
 * (`#order-jane-doe`), so masked elements are described by tag and position alone.
 */
export function selectorOf(el: Element): string | undefined {
  const masked = el.closest(MASK)
  const parts: string[] = []
  let node: Element | null = el
  while (node && parts.length < 5 && node !== document.documentElement) {
    const hidden = masked?.contains(node)
    if (node.id && !hidden) {
      parts.unshift(`#${esc(node.id)}`)
      break
    }
    let part = node.tagName.toLowerCase()
    if (part === 'body') {
      parts.unshift(part)
      break
    }
    if (!hidden && typeof node.className === 'string') {
      for (const c of node.className.trim().split(/\s+/).slice(0, 3)) if (c) part += `.${esc(c)}`
    }
    const parent: Element | null = node.parentElement
    if (parent) {
      let index = 0
      let same = 0
      for (const sibling of Array.from(parent.children)) {
        if (sibling.tagName === node.tagName) {
          same++
          if (sibling === node) index = same
        }
      }
      if (same > 1) part += `:nth-of-type(${index})`
    }
    parts.unshift(part)
    node = parent
  }
  const s = parts.join(' > ')
  return s && s.length <= 512 ? s : undefined
}

export function ignored(target: EventTarget | null): boolean {
  return target instanceof Element && !!target.closest(IGNORE)
}
