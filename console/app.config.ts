import { defineConfig } from '@solidjs/start/config'

/**
 * A client-rendered app (`ssr: false`): the build is static files — one `index.html` and hashed
 * assets — that the gateway (or `serve.ts`) serves under `/console/`, with every unknown path inside it
 * answered by `index.html` so the router takes over. The console talks to the gateway's HTTP and
 * WebSocket API only, on the origin that served it.
 */
export default defineConfig({
  ssr: false,
  server: {
    preset: 'static',
    baseURL: '/console',
    output: { dir: 'dist', publicDir: 'dist/public' },
    // The gateway picks the encoding per request; precompressed copies would only double the output.
    compressPublicAssets: false,
  },
  vite: {
    build: { target: 'es2020', reportCompressedSize: false },
  },
})
