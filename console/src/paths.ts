/** Where the console is served (`/console`); the router prefixes every route with it. */
export const base: string = import.meta.env.SERVER_BASE_URL ?? ''

/** A console path as the address bar shows it (for links leaving the router, like downloads). */
export const href = (path: string): string => `${base}${path}`
