/**
 * One page, one grid: the page of a URL is its path, lowercased host dropped (a site is one host),
 * query string dropped, trailing slash and index files folded. Fragments are dropped unless they are
 * SPA routes (`#/…` or `#!/…`), which are kept as part of the page.
 */
export function normalizePage(rawUrl: string): string {
  // The events of a batch nearly always share their URL: the last answer saves parsing it again.
  if (rawUrl !== last.raw) last = { raw: rawUrl, page: parse(rawUrl) }
  return last.page
}

let last = { raw: '', page: '/' }

function parse(rawUrl: string): string {
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    url = new URL(rawUrl, 'http://site.invalid')
  }
  let path = url.pathname.replace(/\/{2,}/g, '/').replace(/\/index\.html?$/i, '/')
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1)
  const hash = url.hash
  if (hash.startsWith('#/') || hash.startsWith('#!/')) {
    const route = hash.replace(/^#!?/, '').split('?')[0]!
    path = `${path === '/' ? '' : path}/#${route}`
  }
  return path.slice(0, 1024) || '/'
}
