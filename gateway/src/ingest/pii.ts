/**
 * Personal data that pages put where it does not belong — an e-mail address in a path, a card number
 * in an element id — replaced before anything is stored. The SDK never reads text; this catches what is
 * in URLs and selectors, whoever sent them.
 */

/**
 * An e-mail address, also inside a CSS selector (where `@` and `.` arrive escaped as `\@`, `\.`) or a
 * URL path (`%40`).
 */
const EMAIL =
  /[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]|\\[.@+%]){0,63}(?:\\?@|%40)[A-Za-z0-9-]{1,63}(?:\\?\.[A-Za-z0-9-]{1,63}){0,8}\\?\.[A-Za-z]{2,24}/g
/** 13 to 19 digits, optionally grouped by single spaces or dashes: a card number if it passes Luhn. */
const CARD_LIKE = /(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])/g
/** A US social security number as it is written: `123-45-6789`. */
const SSN = /(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])/g

function luhn(digits: string): boolean {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48
    if (i % 2 === 1) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
  }
  return sum % 10 === 0
}

/** Cheap pre-check: nothing to scrub without an `@`/`%40` or a run of digits. */
const MAYBE = /@|%40|\d{3}/

/**
 * `text` with e-mail addresses, card-like numbers (Luhn-valid) and SSN-like numbers replaced by
 * `[email]`, `[card]` and `[ssn]`.
 *
 * @example
 * scrubPii('/users/jane.doe@example.com/orders') // '/users/[email]/orders'
 */
export function scrubPii(text: string): string {
  if (!MAYBE.test(text)) return text
  return text
    .replace(EMAIL, '[email]')
    .replace(SSN, '[ssn]')
    .replace(CARD_LIKE, (m) => (luhn(m.replace(/[ -]/g, '')) ? '[card]' : m))
}

/**
 * A referrer as it may be kept: origin and path, scrubbed; the query string and fragment (search terms,
 * tokens) never. What is not a URL is dropped.
 */
export function cleanReferrer(referrer: string): string | undefined {
  if (referrer === '') return undefined
  try {
    const u = new URL(referrer)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined
    return scrubPii(u.origin + u.pathname).slice(0, 2048)
  } catch {
    return undefined
  }
}
