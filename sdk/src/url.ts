/**
 * The URL a page view is reported under: origin, path and — only when it is an SPA route (`#/…`, `#!/…`)
 * — the fragment without its own query part. Query strings and other fragments (`#access_token=…`,
 * anchors) may carry personal data and never leave the browser.
 */
export function cleanUrl(href: string): string {
  try {
    const u = new URL(href)
    const h = u.hash
    const route = h.startsWith('#/') || h.startsWith('#!/') ? h.split('?')[0] : ''
    return (u.origin + u.pathname + route).slice(0, 2048)
  } catch {
    return ''
  }
}

/**
 * The page a URL's heatmap is kept under — the same rule as the actors' `normalizePage` (a test holds the
 * two together): the path, `index.html` and trailing slashes folded, plus the SPA route if there is one.
 */
export function pageOf(href: string): string {
  const u = new URL(href, 'http://site.invalid')
  let path = u.pathname.replace(/\/{2,}/g, '/').replace(/\/index\.html?$/i, '/')
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  const h = u.hash
  if (h.startsWith('#/') || h.startsWith('#!/')) {
    path = `${path === '/' ? '' : path}/#${h.replace(/^#!?/, '').split('?')[0]}`
  }
  return path.slice(0, 1024) || '/'
}
