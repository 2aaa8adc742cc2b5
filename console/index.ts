/**
 * What a server needs to serve the console: where its build lives and how a request path under
 * `/console/` maps to a file of it. The gateway serves it this way in embedded mode, and `serve.ts` as
 * a service of its own. The app itself (`src/`) is built by `build.ts` with vinxi.
 */
import { stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The URL prefix the console is built for (vinxi's `baseURL`, the router's base). */
export const consoleBase = '/console'

/** The console package's folder. */
export const consoleDir = fileURLToPath(new URL('.', import.meta.url))

/** The static build: `index.html` and `_build/assets/*` (hashed names). */
export const consoleOutputDir = join(consoleDir, 'dist', 'public')

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
}

export interface ConsoleAsset {
  /** Absolute path of the file to send. */
  file: string
  contentType: string
  /** Hashed build assets never change under their name; the page itself must always be revalidated. */
  cacheControl: string
}

/**
 * The file answering `path` (the URL path after `/console`, like `/_build/assets/app-3f2a.js` or
 * `/sites/42/heatmap`): a file of the build when one is there, else `index.html` for any path that is
 * not an asset, so the client router shows the page. Undefined for a missing asset (a 404), and for
 * any path that would leave the build folder.
 */
export async function resolveConsoleAsset(
  path: string,
  outputDir = consoleOutputDir,
): Promise<ConsoleAsset | undefined> {
  let decoded: string
  try {
    decoded = decodeURIComponent(path.split('?')[0] ?? '/')
  } catch {
    return undefined
  }
  if (decoded.includes('\0')) return undefined
  const file = normalize(join(outputDir, decoded))
  if (file !== outputDir && !file.startsWith(outputDir + sep)) return undefined
  const isAsset = decoded.startsWith('/_build/')
  try {
    const s = await stat(file)
    if (s.isFile()) {
      const contentType = types[extname(file)] ?? 'application/octet-stream'
      const cacheControl = isAsset ? 'public, max-age=31536000, immutable' : 'no-cache'
      return { file, contentType, cacheControl }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ENOTDIR')
      throw e
  }
  // A missing file under the build's asset folder, or with an extension, is a real 404.
  if (isAsset || extname(decoded) !== '') return undefined
  return { file: join(outputDir, 'index.html'), contentType: types['.html']!, cacheControl: 'no-cache' }
}

/**
 * Headers for the console's page: no framing by other sites (clickjacking), no MIME sniffing, and no
 * referrer beyond the origin.
 */
export const consolePageHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'strict-origin-when-cross-origin',
}
