/**
 * The demo website the gateway serves under `/demo/`: a small SaaS marketing site (home, pricing, blog,
 * docs) described as data — every element with its box in a 1280 px wide document and an attention
 * weight — plus a renderer that lays the elements out at exactly those boxes. The traffic generator
 * plays visitors against the same data, so simulated clicks land where the real page has elements.
 */

export type DemoElementKind =
  | 'section'
  | 'nav'
  | 'link'
  | 'cta'
  | 'button'
  | 'title'
  | 'heading'
  | 'text'
  | 'quote'
  | 'image'
  | 'card'
  | 'code'
  | 'input'

export interface DemoElement {
  /** The DOM id; unique on its page. */
  id: string
  /** CSS selector matching the element in the rendered page (what the SDK reports for it). */
  selector: string
  /** Box in document pixels at a 1280 px wide layout. */
  x: number
  y: number
  w: number
  h: number
  kind: DemoElementKind
  /** Relative likelihood of a click, compared with the other elements of the page. */
  weight: number
  /** Where it links: a demo page path, or a `#fragment` that stays on the page. */
  href?: string
  /** Visible text (for cards: first line the heading, one line per paragraph). */
  text?: string
  /** Rendered with `data-hm-ignore`: the SDK captures nothing on it, simulated visitors don't either. */
  private?: boolean
}

export interface DemoPage {
  path: string
  title: string
  /** Document height in px at 1280 px width. */
  height: number
  elements: DemoElement[]
}

export interface RenderDemoOptions {
  siteKey: string
  /** URL of the SDK bundle, e.g. `/sdk/hm.js`. */
  sdkSrc: string
  /** Ingest endpoint; the SDK's default is its own origin + `/v1/events/collect`. */
  endpoint?: string
  /** Render `data-consent-required="true"` and a consent banner. */
  consentRequired?: boolean
}

export const DEMO_WIDTH = 1280

type Extra = Pick<DemoElement, 'href' | 'text' | 'private'>

function el(
  id: string,
  kind: DemoElementKind,
  [x, y, w, h]: [number, number, number, number],
  weight: number,
  extra: Extra = {},
): DemoElement {
  return { id, selector: `#${id}`, x, y, w, h, kind, weight, ...extra }
}

function header(): DemoElement[] {
  return [
    el('header', 'section', [0, 0, 1280, 72], 0.2),
    el('nav-logo', 'nav', [40, 18, 160, 36], 3, { href: '/demo/', text: 'Lumen' }),
    el('nav-product', 'nav', [690, 24, 80, 24], 2, { href: '/demo/', text: 'Product' }),
    el('nav-pricing', 'nav', [780, 24, 80, 24], 6, { href: '/demo/pricing', text: 'Pricing' }),
    el('nav-blog', 'nav', [870, 24, 60, 24], 4, { href: '/demo/blog', text: 'Blog' }),
    el('nav-docs', 'nav', [940, 24, 60, 24], 4, { href: '/demo/docs', text: 'Docs' }),
    el('nav-signin', 'nav', [1020, 24, 80, 24], 2, { href: '#sign-in', text: 'Sign in' }),
    el('nav-cta', 'cta', [1120, 16, 120, 40], 8, { href: '/demo/pricing', text: 'Get started' }),
  ]
}

function footer(y: number): DemoElement[] {
  return [
    el('footer', 'section', [0, y, 1280, 240], 0.2),
    el('footer-brand', 'text', [80, y + 48, 360, 72], 0.3, {
      text: 'Lumen — live heatmaps for teams who ship every day. Self-hosted, privacy first.',
    }),
    el('footer-pricing', 'link', [600, y + 52, 120, 24], 1, { href: '/demo/pricing', text: 'Pricing' }),
    el('footer-blog', 'link', [600, y + 88, 120, 24], 0.8, { href: '/demo/blog', text: 'Blog' }),
    el('footer-docs', 'link', [600, y + 124, 120, 24], 1, { href: '/demo/docs', text: 'Documentation' }),
    el('footer-privacy', 'link', [800, y + 52, 160, 24], 0.8, { href: '#privacy', text: 'Privacy policy' }),
    el('footer-terms', 'link', [800, y + 88, 160, 24], 0.4, { href: '#terms', text: 'Terms' }),
    el('footer-status', 'link', [800, y + 124, 160, 24], 0.5, { href: '#status', text: 'Status' }),
    el('footer-copy', 'text', [80, y + 184, 600, 24], 0.1, { text: '© 2025 Lumen Analytics. Demo site.' }),
  ]
}

const home: DemoPage = {
  path: '/demo/',
  title: 'Lumen — live heatmaps',
  height: 2400,
  elements: [
    el('hero', 'section', [0, 72, 1280, 1000], 0.3),
    ...header(),
    el('hero-badge', 'link', [490, 128, 300, 32], 3, {
      href: '/demo/blog',
      text: 'New: live mode is here — read the post →',
    }),
    el('hero-title', 'title', [140, 180, 1000, 136], 1.5, { text: 'See where your visitors look, live.' }),
    el('hero-subtitle', 'text', [240, 332, 800, 60], 0.8, {
      text: 'Click, move and scroll heatmaps that update while people use your site. Self-hosted, no cookies, no sampling.',
    }),
    el('hero-cta-primary', 'cta', [440, 420, 190, 56], 30, {
      href: '/demo/pricing',
      text: 'Start free trial',
    }),
    el('hero-cta-secondary', 'button', [650, 420, 190, 56], 10, {
      href: '/demo/docs',
      text: 'Read the docs',
    }),
    el('hero-image', 'image', [140, 530, 1000, 500], 4, { text: 'A page with a live click heatmap over it' }),
    el('logos', 'text', [140, 1096, 1000, 48], 0.4, {
      text: 'Trusted by teams at Northwind · Globex · Initech · Umbrella · Hooli · Vandelay',
    }),
    el('features-title', 'heading', [140, 1200, 1000, 48], 0.6, {
      text: 'Everything you need to understand a page',
    }),
    el('feature-live', 'card', [140, 1280, 320, 240], 3, {
      text: 'Live heatmaps\nWatch clicks and attention build up in real time, on any page and any viewport.',
    }),
    el('feature-privacy', 'card', [480, 1280, 320, 240], 2.5, {
      text: 'Private by design\nNo text, no input values, no query strings. Do Not Track honoured.',
    }),
    el('feature-scale', 'card', [820, 1280, 320, 240], 2, {
      text: 'Built to scale\nVirtual actors spread every site over every core and every node.',
    }),
    el('feature-live-link', 'link', [164, 1472, 160, 24], 3, { href: '/demo/docs', text: 'How it works →' }),
    el('feature-privacy-link', 'link', [504, 1472, 180, 24], 2, {
      href: '/demo/blog',
      text: 'Our privacy model →',
    }),
    el('feature-scale-link', 'link', [844, 1472, 160, 24], 1.5, {
      href: '/demo/docs',
      text: 'Architecture →',
    }),
    el('testimonial', 'quote', [240, 1590, 800, 200], 1, {
      text: '“We moved the signup button after one afternoon of live heatmaps. Conversions went up 18%.”\n— Dana Scully, Growth at Northwind',
    }),
    el('cta-band', 'section', [0, 1860, 1280, 300], 0.3),
    el('cta-band-title', 'heading', [240, 1916, 800, 48], 0.5, {
      text: 'Your first heatmap in five minutes',
    }),
    el('cta-band-text', 'text', [340, 1972, 600, 40], 0.3, { text: 'One script tag. Free for small sites.' }),
    el('cta-band-button', 'cta', [540, 2040, 200, 52], 7, { href: '/demo/pricing', text: 'See pricing' }),
    ...footer(2160),
  ],
}

const faqs = [
  'Do you store personal data?',
  'Can I self-host Lumen?',
  'What counts as a page view?',
  'Does the script slow my site down?',
  'Can I cancel at any time?',
  'Do you offer discounts for non-profits?',
]

const pricing: DemoPage = {
  path: '/demo/pricing',
  title: 'Pricing — Lumen',
  height: 2600,
  elements: [
    ...header(),
    el('pricing-title', 'title', [240, 128, 800, 72], 1, { text: 'Simple pricing that grows with you' }),
    el('pricing-subtitle', 'text', [340, 212, 600, 48], 0.5, {
      text: 'Every plan includes live heatmaps and unlimited seats.',
    }),
    el('billing-monthly', 'button', [520, 290, 120, 40], 3, { text: 'Monthly' }),
    el('billing-yearly', 'button', [640, 290, 120, 40], 5, { text: 'Yearly −20%' }),
    el('plan-starter', 'card', [120, 380, 320, 520], 2, {
      text: 'Starter\n$0 / month\n1 website\n10,000 page views\n30 days of history',
    }),
    el('plan-pro', 'card', [480, 360, 320, 560], 3, {
      text: 'Pro\n$49 / month\n10 websites\n500,000 page views\n1 year of history\nLive mode',
    }),
    el('plan-business', 'card', [840, 380, 320, 520], 1.5, {
      text: 'Business\nCustom\nUnlimited websites\nSSO and audit log\nDedicated support',
    }),
    el('plan-starter-cta', 'button', [152, 820, 256, 48], 12, { text: 'Start for free' }),
    el('plan-pro-cta', 'cta', [512, 840, 256, 52], 25, { text: 'Start 14-day trial' }),
    el('plan-business-cta', 'button', [872, 820, 256, 48], 8, { text: 'Contact sales' }),
    el('compare-title', 'heading', [140, 1000, 1000, 48], 0.5, { text: 'Compare plans' }),
    ...[
      'Websites · 1 · 10 · Unlimited',
      'Page views per month · 10k · 500k · Custom',
      'History · 30 days · 1 year · Custom',
      'Live mode · — · ✓ · ✓',
      'Team roles · — · ✓ · ✓',
      'SSO and audit log · — · — · ✓',
    ].map((text, i) => el(`compare-row-${i + 1}`, 'text', [140, 1070 + i * 64, 1000, 56], 0.6, { text })),
    el('faq-title', 'heading', [140, 1520, 1000, 48], 0.5, { text: 'Questions' }),
    ...faqs.map((text, i) =>
      el(`faq-${i + 1}`, 'button', [240, 1590 + i * 84, 800, 68], 3 - i * 0.4, { text }),
    ),
    el('pricing-cta-band', 'section', [0, 2140, 1280, 220], 0.3),
    el('pricing-cta-title', 'heading', [240, 2188, 800, 48], 0.4, {
      text: 'Not sure yet? Read how it works.',
    }),
    el('pricing-cta-button', 'cta', [540, 2260, 200, 52], 4, { href: '/demo/docs', text: 'Read the docs' }),
    ...footer(2360),
  ],
}

const blogText = [
  'Most analytics tell you how many people arrived and how many left. A heatmap tells you what happened in between: where the eye went, what looked clickable but was not, how far down the page anyone cared to read.',
  'Our first version aggregated events in a database every minute. It worked until a customer put the script on a news site with a front page that changed every hour; by the time the heatmap was ready, the page it described was gone.',
  'So we turned the problem around. Each page of each website is a small actor that lives in memory, applies events as they arrive and flushes its grid now and then. Asking for a heatmap becomes asking the actor.',
  'Actors are virtual: nobody creates or destroys them. The first event for a page activates its actor on whichever worker owns its shard; after a quiet hour it writes a snapshot and goes to sleep, to wake up on the next event.',
  'Coordinates are the hard part. A click at x = 900 means one thing on a laptop and another on a phone, so we keep x relative to the document width, y in bands of sixteen pixels, and the offset inside the clicked element for redrawing on other layouts.',
  'Privacy was not a feature we added later. The script never reads text or input values, drops query strings before anything leaves the browser and does nothing at all when the browser asks not to be tracked.',
  'The result is a heatmap that moves while you watch it. Open a page in live mode, share your screen in a design review and see the hot spots shift as visitors react to the change you shipped ten minutes ago.',
  'What is next: attention maps that weigh each band of the page by how long it was on screen, rage-click detection and a replay of the scroll path of a single session, all built on the same actors.',
]

function blogElements(): DemoElement[] {
  const out: DemoElement[] = [
    ...header(),
    el('post-category', 'link', [240, 120, 200, 24], 1, { href: '#engineering', text: 'Engineering' }),
    el('post-title', 'title', [240, 156, 800, 128], 1, {
      text: 'How we built live heatmaps on virtual actors',
    }),
    el('post-byline', 'text', [240, 300, 800, 28], 0.3, { text: 'By Ada Park · 9 min read' }),
    el('post-cover', 'image', [240, 360, 800, 400], 2, {
      text: 'Diagram of page actors spread over workers',
    }),
  ]
  const headings = [
    'Why in-memory',
    'Coordinates that survive a redesign',
    'Privacy first',
    'What comes next',
  ]
  let y = 800
  blogText.forEach((text, i) => {
    if (i % 2 === 0) {
      out.push(el(`post-h-${i / 2 + 1}`, 'heading', [240, y, 800, 44], 0.4, { text: headings[i / 2] }))
      y += 68
    }
    out.push(el(`post-p-${i + 1}`, 'text', [240, y, 800, 150], 1 - i * 0.08, { text }))
    y += 182
    if (i === 2) {
      out.push(
        el('post-code', 'code', [240, y, 800, 180], 1.5, {
          text: "const page = defineActor('page', {\n  initial: () => emptyGrid(),\n  receive: (grid, batch) => applyEvents(grid, batch),\n})",
        }),
      )
      y += 212
    }
    if (i === 4) {
      out.push(
        el('post-link-docs', 'link', [240, y, 360, 28], 4, {
          href: '/demo/docs',
          text: 'Read the coordinate model in the docs →',
        }),
      )
      y += 60
    }
    if (i === 6) {
      out.push(
        el('post-callout', 'card', [240, y, 800, 160], 1.5, {
          text: 'Try it on your own site\nThe free plan covers one website and ten thousand page views a month.',
        }),
      )
      out.push(
        el('post-link-pricing', 'cta', [272, y + 96, 220, 44], 6, {
          href: '/demo/pricing',
          text: 'See the plans',
        }),
      )
      y += 192
    }
  })
  // The article ends near y = 3100; comments, the newsletter box and related posts follow.
  out.push(el('comments-title', 'heading', [240, y + 40, 800, 44], 0.3, { text: 'Discussion' }))
  for (let i = 0; i < 4; i++) {
    out.push(
      el(`comment-${i + 1}`, 'card', [240, y + 110 + i * 180, 800, 156], 0.5, {
        text: `${['Sam', 'Priya', 'Jonas', 'Mei'][i]}\n${
          [
            'How do you handle pages that are different for logged-in users?',
            'Love the privacy defaults. Is the selector ever built from text?',
            'What happens to the grid when the page layout changes?',
            'Would be great to see the actor runtime open-sourced on its own.',
          ][i]
        }`,
      }),
    )
  }
  y += 110 + 4 * 180 + 40
  out.push(
    el('subscribe', 'card', [240, y, 800, 220], 1, {
      text: 'Get the next post by email\nOne email a month. No tracking pixels.',
    }),
    el('subscribe-email', 'input', [280, y + 130, 480, 48], 4, { text: 'you@company.com', private: true }),
    el('subscribe-button', 'cta', [780, y + 130, 220, 48], 6, { text: 'Subscribe' }),
  )
  y += 290
  out.push(el('related-title', 'heading', [140, y, 1000, 44], 0.3, { text: 'Keep reading' }))
  const related = [
    ['product', 'Lumen for product teams', 'Find the button nobody sees.', '/demo/'],
    ['scroll', 'Reading a scroll map', 'Where attention fades, and why.', '/demo/docs'],
    ['pricing', 'Pricing that scales', 'Pay for page views, not seats.', '/demo/pricing'],
  ] as const
  related.forEach(([id, head, line, href], i) => {
    const x = 140 + i * 350
    out.push(
      el(`related-${id}`, 'card', [x, y + 72, 300, 240], 1.5, { text: `${head}\n${line}` }),
      el(`related-${id}-link`, 'link', [x + 28, y + 260, 200, 28], 3, { href, text: 'Read more →' }),
    )
  })
  out.push(el('back-to-top', 'link', [560, y + 370, 160, 28], 1, { href: '#top', text: 'Back to top ↑' }))
  return out
}

const blogBody = blogElements()
const blogFooterY = 4760

const blog: DemoPage = {
  path: '/demo/blog',
  title: 'How we built live heatmaps on virtual actors — Lumen blog',
  height: 5000,
  elements: [...blogBody, ...footer(blogFooterY)],
}

const docsSections = [
  ['install', 'Installation', 5],
  ['snippet', 'The script tag', 4],
  ['consent', 'Consent', 3],
  ['spa', 'Single-page apps', 2.5],
  ['privacy', 'Privacy controls', 3],
  ['api', 'Query API', 2],
  ['self-host', 'Self-hosting', 2],
  ['faq', 'FAQ', 1],
] as const

const docs: DemoPage = {
  path: '/demo/docs',
  title: 'Install the tracking script — Lumen docs',
  height: 3400,
  elements: [
    ...header(),
    el('sidebar', 'section', [0, 72, 280, 3088], 0.2),
    ...docsSections.map(([id, text, weight], i) =>
      el(`side-${id}`, 'link', [32, 112 + i * 44, 216, 32], weight, { href: `#${id}`, text }),
    ),
    el('docs-title', 'title', [340, 112, 860, 64], 1, { text: 'Install the tracking script' }),
    el('docs-intro', 'text', [340, 196, 860, 84], 0.5, {
      text: 'Add one script tag to every page you want heatmaps for. The script is under 4 kB gzipped, loads after your page and never blocks rendering.',
    }),
    el('docs-step-1', 'heading', [340, 310, 860, 40], 0.4, { text: '1. Add the script' }),
    el('docs-code-1', 'code', [340, 366, 860, 120], 2, {
      text: '<script src="https://lumen.example/sdk/hm.js"\n        data-site="YOUR_SITE_KEY" defer></script>',
    }),
    el('docs-copy-1', 'button', [1100, 378, 88, 32], 9, { text: 'Copy' }),
    el('docs-text-1', 'text', [340, 510, 860, 112], 0.6, {
      text: 'Put it in the head of your layout so every page gets it. The site key is on the website settings page of the console; it is public and safe to ship.',
    }),
    el('docs-step-2', 'heading', [340, 660, 860, 40], 0.4, { text: '2. Ask for consent (optional)' }),
    el('docs-text-2', 'text', [340, 716, 860, 84], 0.5, {
      text: 'Where the law asks for consent first, add data-consent-required and call hm.consent(true) from your consent banner.',
    }),
    el('docs-code-2', 'code', [340, 820, 860, 150], 1.5, {
      text: '<script src="/sdk/hm.js" data-site="YOUR_SITE_KEY"\n        data-consent-required="true" defer></script>\n\nbanner.onAccept(() => window.hm.consent(true))',
    }),
    el('docs-copy-2', 'button', [1100, 832, 88, 32], 5, { text: 'Copy' }),
    el('docs-callout', 'card', [340, 1010, 860, 140], 1, {
      text: 'Privacy by default\nDo Not Track and Global Privacy Control switch capture off. Query strings never leave the browser.',
    }),
    el('docs-step-3', 'heading', [340, 1200, 860, 40], 0.4, { text: '3. Hide sensitive parts' }),
    el('docs-text-3', 'text', [340, 1256, 860, 84], 0.5, {
      text: 'Mark any element with data-hm-ignore and nothing inside it is captured: no clicks, no cursor positions.',
    }),
    el('docs-code-3', 'code', [340, 1360, 860, 100], 1, { text: '<form data-hm-ignore>\n  …\n</form>' }),
    el('docs-copy-3', 'button', [1100, 1372, 88, 32], 3, { text: 'Copy' }),
    el('docs-step-4', 'heading', [340, 1510, 860, 40], 0.4, { text: '4. Single-page apps' }),
    el('docs-text-4', 'text', [340, 1566, 860, 112], 0.5, {
      text: 'Route changes through history.pushState, replaceState and the back button are page views of their own. Jumping to an anchor on the same page is not.',
    }),
    el('docs-step-5', 'heading', [340, 1720, 860, 40], 0.4, { text: '5. Check it works' }),
    el('docs-text-5', 'text', [340, 1776, 860, 84], 0.5, {
      text: 'Open your site, click around, then open the page in the console in live mode: your clicks appear within seconds.',
    }),
    el('docs-image', 'image', [340, 1890, 860, 420], 1.5, {
      text: 'The console showing a live click heatmap',
    }),
    el('docs-step-6', 'heading', [340, 2360, 860, 40], 0.4, { text: 'Troubleshooting' }),
    ...[
      'Nothing shows up: check the browser console for a message from hm and that the site key matches.',
      'Requests blocked: allow the gateway origin in your Content-Security-Policy connect-src.',
      'Wrong pages: query strings are dropped, so /shop?item=1 and /shop?item=2 are one page.',
    ].map((text, i) => el(`docs-trouble-${i + 1}`, 'text', [340, 2420 + i * 96, 860, 80], 0.4, { text })),
    el('docs-feedback', 'card', [340, 2740, 860, 120], 0.6, {
      text: 'Was this page helpful?\nTell us what was missing.',
    }),
    el('docs-feedback-yes', 'button', [960, 2780, 100, 40], 2, { text: 'Yes' }),
    el('docs-feedback-no', 'button', [1076, 2780, 100, 40], 1.5, { text: 'No' }),
    el('docs-prev', 'button', [340, 2940, 300, 56], 1, { href: '/demo/', text: '← Back to the product' }),
    el('docs-next', 'cta', [900, 2940, 300, 56], 4, { href: '/demo/pricing', text: 'Next: choose a plan →' }),
    ...footer(3160),
  ],
}

/** The demo website's pages, home first. */
export const demoPages: DemoPage[] = [home, pricing, blog, docs]

/**
 * The demo page at a path (`/demo`, `/demo/`, `/demo/pricing/` and `/demo/pricing?x=1` all work).
 *
 * @example
 * demoPageByPath('/demo/pricing')?.title // 'Pricing — Lumen'
 */
export function demoPageByPath(path: string): DemoPage | undefined {
  const clean = path.split(/[?#]/)[0]!.replace(/\/+$/, '')
  return demoPages.find((p) => p.path.replace(/\/+$/, '') === clean)
}

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => escapes[c]!)

function inner(e: DemoElement): string {
  const text = e.text ?? ''
  switch (e.kind) {
    case 'card': {
      const [head = '', ...rest] = text.split('\n')
      return `<h3>${esc(head)}</h3>${rest.map((l) => `<p>${esc(l)}</p>`).join('')}`
    }
    case 'quote': {
      const [quote = '', who = ''] = text.split('\n')
      return `<p>${esc(quote)}</p><cite>${esc(who)}</cite>`
    }
    case 'code':
      return `<code>${esc(text)}</code>`
    default:
      return esc(text)
  }
}

function renderElement(e: DemoElement): string {
  const style = `left:${e.x}px;top:${e.y}px;width:${e.w}px;height:${e.h}px`
  const attrs = `id="${esc(e.id)}" class="e k-${e.kind}" style="${style}"${e.private ? ' data-hm-ignore' : ''}`
  const body = inner(e)
  switch (e.kind) {
    case 'section':
      return `<section ${attrs}></section>`
    case 'title':
      return `<h1 ${attrs}>${body}</h1>`
    case 'heading':
      return `<h2 ${attrs}>${body}</h2>`
    case 'text':
      return `<p ${attrs}>${body}</p>`
    case 'quote':
      return `<blockquote ${attrs}>${body}</blockquote>`
    case 'code':
      return `<pre ${attrs}>${body}</pre>`
    case 'input':
      return `<input ${attrs} type="email" placeholder="${esc(e.text ?? '')}" aria-label="Email address" autocomplete="off">`
    case 'image':
      return `<div ${attrs} role="img" aria-label="${esc(e.text ?? '')}"><span class="bar"></span></div>`
    case 'card':
      return `<div ${attrs}>${body}</div>`
    default:
      return e.href !== undefined
        ? `<a ${attrs} href="${esc(e.href)}">${body}</a>`
        : `<button ${attrs} type="button">${body}</button>`
  }
}

const CSS = `
*{box-sizing:border-box}
html,body{margin:0;padding:0}
body{font:16px/1.6 Inter,ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;background:#fff;-webkit-font-smoothing:antialiased}
.page{position:relative;width:${DEMO_WIDTH}px;margin:0 auto;overflow:hidden}
.e{position:absolute;margin:0;padding:0;overflow:hidden}
a{color:inherit;text-decoration:none}
.k-section{background:#fff}
#header{background:rgba(255,255,255,.92);border-bottom:1px solid #e2e8f0}
#hero{background:radial-gradient(1200px 500px at 50% 0,#eef2ff,#fff 70%)}
#cta-band,#pricing-cta-band{background:linear-gradient(135deg,#4f46e5,#7c3aed)}
#cta-band-title,#cta-band-text,#pricing-cta-title{color:#fff}
#cta-band-button,#pricing-cta-button{background:#fff;color:#4338ca}
#footer{background:#0f172a}
#footer~.k-link,#footer~.k-text{color:#cbd5e1;font-size:14px}
#sidebar{background:#f8fafc;border-right:1px solid #e2e8f0}
.k-nav{display:flex;align-items:center;font-size:15px;color:#334155;font-weight:500}
.k-nav:hover,.k-link:hover{color:#4f46e5}
#nav-logo{font-size:22px;font-weight:800;color:#0f172a;letter-spacing:-.02em}
#nav-logo::before{content:"";display:inline-block;width:22px;height:22px;margin-right:10px;border-radius:6px;background:conic-gradient(#f43f5e,#f59e0b,#22c55e,#4f46e5,#f43f5e)}
.k-link{display:flex;align-items:center;color:#4f46e5;font-weight:500;font-size:15px}
.k-cta,.k-button{display:flex;align-items:center;justify-content:center;border-radius:10px;font-family:inherit;font-size:16px;font-weight:600;line-height:1;cursor:pointer;border:1px solid transparent}
.k-cta{background:#4f46e5;color:#fff;box-shadow:0 6px 20px -6px rgba(79,70,229,.6)}
.k-cta:hover{background:#4338ca}
.k-button{background:#fff;color:#1e293b;border-color:#cbd5e1}
.k-button:hover{border-color:#4f46e5}
#billing-yearly{background:#eef2ff;border-color:#4f46e5;color:#3730a3}
[id^="faq-"]{justify-content:flex-start;padding:0 24px;font-weight:500;text-align:left}
[id^="faq-"]::after{content:"+";margin-left:auto;font-size:22px;color:#64748b}
[id^="docs-copy"]{font-size:13px;background:#1e293b;color:#e2e8f0;border-color:#334155}
.k-title{font-size:56px;line-height:1.15;font-weight:800;letter-spacing:-.03em;text-align:center}
#post-title,#docs-title{font-size:44px;text-align:left}
.k-heading{font-size:32px;line-height:1.3;font-weight:700;letter-spacing:-.02em}
#features-title,#cta-band-title,#pricing-cta-title,#compare-title,#faq-title{text-align:center}
[id^="post-h-"],[id^="docs-step"]{font-size:26px}
.k-text{font-size:18px;color:#475569}
#hero-subtitle,#pricing-subtitle,#cta-band-text,#logos{text-align:center}
#hero-subtitle{font-size:20px}
#logos{color:#94a3b8;font-weight:600;letter-spacing:.02em;display:flex;align-items:center;justify-content:center}
[id^="compare-row"]{display:flex;align-items:center;padding:0 24px;border-bottom:1px solid #e2e8f0;font-size:16px;color:#334155}
#hero-badge{justify-content:center;border-radius:999px;background:#eef2ff;font-size:14px}
.k-card{background:#fff;border:1px solid #e2e8f0;border-radius:16px;padding:28px;box-shadow:0 1px 2px rgba(15,23,42,.05)}
.k-card h3{margin:0 0 10px;font-size:20px}
.k-card p{margin:0 0 6px;color:#475569}
[id^="plan-"].k-card p:first-of-type{font-size:32px;font-weight:800;color:#0f172a;margin:8px 0 20px}
#plan-pro{border:2px solid #4f46e5;box-shadow:0 20px 50px -20px rgba(79,70,229,.45)}
#plan-pro::before{content:"Most popular";position:absolute;top:18px;right:18px;font-size:12px;font-weight:700;color:#4f46e5;background:#eef2ff;padding:4px 10px;border-radius:999px}
#post-callout,#subscribe,#docs-callout{background:#f5f3ff;border-color:#ddd6fe}
.k-quote{font-size:24px;line-height:1.5;text-align:center;color:#1e293b}
.k-quote p{margin:0 0 16px}
.k-quote cite{font-size:16px;font-style:normal;color:#64748b}
.k-code{background:#0f172a;color:#e2e8f0;border-radius:12px;padding:20px 24px;font:14px/1.6 ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre}
.k-input{border:1px solid #cbd5e1;border-radius:10px;padding:0 16px;font-family:inherit;font-size:16px}
.k-image{border-radius:16px;border:1px solid #e2e8f0;background:
 radial-gradient(80px 60px at 28% 38%,rgba(244,63,94,.75),transparent 70%),
 radial-gradient(120px 80px at 52% 30%,rgba(245,158,11,.6),transparent 70%),
 radial-gradient(160px 120px at 70% 62%,rgba(34,197,94,.45),transparent 70%),
 radial-gradient(240px 160px at 40% 70%,rgba(79,70,229,.3),transparent 70%),
 linear-gradient(#f8fafc,#f1f5f9);box-shadow:0 30px 60px -30px rgba(15,23,42,.35)}
.k-image .bar{position:absolute;left:0;right:0;top:0;height:36px;background:#e2e8f0;border-bottom:1px solid #cbd5e1}
.k-image .bar::before{content:"● ● ●";position:absolute;left:14px;top:7px;font-size:12px;letter-spacing:2px;color:#94a3b8}
[id^="side-"]{color:#334155;padding:0 12px;border-radius:8px}
[id^="side-"]:hover{background:#eef2ff}
#consent-banner{position:fixed;left:50%;bottom:24px;transform:translateX(-50%);z-index:10;display:flex;gap:16px;align-items:center;background:#0f172a;color:#fff;padding:14px 20px;border-radius:12px;font-size:15px}
#consent-banner button{font:inherit;border:0;border-radius:8px;padding:8px 14px;cursor:pointer}
`

function consentBanner(): string {
  return `<div id="consent-banner" data-hm-ignore>We use privacy-friendly heatmaps. OK?
<button type="button" onclick="window.hm&&hm.consent(true);this.parentNode.remove()">Accept</button>
<button type="button" onclick="window.hm&&hm.consent(false);this.parentNode.remove()">Decline</button></div>`
}

/**
 * A complete HTML document for a demo page: every element absolutely positioned at its data box inside a
 * 1280 px wide page, and the SDK script tag.
 *
 * @example
 * renderDemoPage(demoPages[0]!, { siteKey: 'demo_site', sdkSrc: '/sdk/hm.js' })
 */
export function renderDemoPage(page: DemoPage, options: RenderDemoOptions): string {
  const script = [
    `src="${esc(options.sdkSrc)}"`,
    `data-site="${esc(options.siteKey)}"`,
    options.endpoint !== undefined ? `data-endpoint="${esc(options.endpoint)}"` : '',
    options.consentRequired ? 'data-consent-required="true"' : '',
    'defer',
  ]
    .filter(Boolean)
    .join(' ')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=${DEMO_WIDTH}">
<title>${esc(page.title)}</title>
<style>${CSS}</style>
<script ${script}></script>
</head>
<body>
<main class="page" style="height:${page.height}px">
${page.elements.map(renderElement).join('\n')}
</main>
${options.consentRequired ? consentBanner() : ''}
</body>
</html>
`
}
