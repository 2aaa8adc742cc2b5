import { privacySuite } from './privacy-suite.ts'

privacySuite('privacy on the embedded platform (PGlite, in-memory cache)', async () => ({
  env: {},
  cleanup: async () => {},
}))
