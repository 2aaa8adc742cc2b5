# One image for every role of the platform: a gateway/cluster node (`node --import tsx gateway/src/main.ts`,
# the default command) and the console as its own service (`node --import tsx console/serve.ts`).
#
# Stage 1 installs with the lock and builds the browser SDK and the console once, so a container never
# builds at start. The full Debian image has the compilers a native module falls back to when it has no
# prebuilt binary for the platform.
FROM node:20.20.2-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY runtime/package.json runtime/
COPY actors/package.json actors/
COPY gateway/package.json gateway/
COPY sdk/package.json sdk/
COPY console/package.json console/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:sdk && npm run build:console
# `npm prune --omit=dev` would remove tsx, which runs the TypeScript sources (the gateway and its worker
# threads load it), so only the development tools nothing at run time imports are removed: the linter,
# the compiler and the property-test library. (playwright-core stays: the gateway drives Chromium with it
# for the screenshots behind heatmaps.)
RUN rm -rf node_modules/@biomejs node_modules/typescript node_modules/@typescript node_modules/fast-check \
 && rm -rf bench scripts deploy runtime/test actors/test gateway/test sdk/test console/test

# Stage 2: the slim base, the built app, and an unprivileged user (uid 1000, `node`).
FROM node:20.20.2-bookworm-slim
# Debian's Chromium (and a font) for the screenshots of pages behind heatmaps, taken by gateway processes.
# `--build-arg SCREENSHOTS=false` leaves it out (about 300 MB less); the gateway then answers screenshot
# requests with HM_ERR_SCREENSHOT_UNAVAILABLE and the console shows the framed page or a blank stage.
ARG SCREENSHOTS=true
RUN if [ "$SCREENSHOTS" = true ]; then \
      apt-get update && apt-get install -y --no-install-recommends chromium fonts-dejavu-core \
      && rm -rf /var/lib/apt/lists/*; \
    fi
ENV NODE_ENV=production \
    HM_HOST=0.0.0.0 \
    HM_DATA_DIR=/data \
    HM_CONSOLE_HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=root:root /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080 8090
# A node answers /v1/health once its runtime is up; the console service overrides this check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HM_PORT||8080)+'/v1/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself: it hands every shard off, flushes and exits 0.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "gateway/src/main.ts"]
