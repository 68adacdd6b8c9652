# One image, two roles: `npm run start:gateway` (the default) or `npm run start:worker`.
# docker-compose.yml runs it as migrate, gateway and worker.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# --- build: dev dependencies, TypeScript -> dist/ ---------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY openapi ./openapi
COPY shared ./shared
COPY services ./services
COPY scripts ./scripts
RUN npm run build

# --- runtime: production dependencies and the compiled JavaScript only ------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    METRICS_PORT=9464
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY openapi ./openapi
COPY bin ./bin
USER node
EXPOSE 3000 9464
# Gateway: GET /healthz on $PORT; worker: GET /healthz on $METRICS_PORT. The script tries both.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["node", "bin/healthcheck.js"]
CMD ["npm", "run", "start:gateway"]
