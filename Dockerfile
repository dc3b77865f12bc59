# syntax=docker/dockerfile:1
#
# tbhost: one static binary (server, CLI and the embedded board page) on a
# distroless, non-root base.
#
#   docker build -t tbhost .
#   docker run -p 6006:6006 -v tbhost-data:/data tbhost
#   docker run -p 6006:6006 tbhost serve --addr :6006 --storage gs://bucket/prefix
#
# GET /healthz answers 200 while the process serves (liveness); GET /readyz
# answers 200 when the store is reachable, 503 otherwise (readiness). There
# is no shell in the image: the HEALTHCHECK runs `tbhost health`, which asks
# /healthz on localhost:6006. See docs/deploy.md.

# 1. The board page: TypeScript bundled by esbuild into frontend/dist.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

# 2. The Go binary, static, with frontend/dist embedded (go:embed).
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-mod=readonly
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=frontend /src/frontend/dist ./frontend/dist
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /tbhost ./cmd/tbhost \
 && mkdir -p /data-skel

# 3. Runtime: no shell, no package manager; CA certificates (for GCS) and
# tzdata come with distroless/static. User nonroot is uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /tbhost /tbhost
# /data owned by nonroot, so a fresh named volume is writable.
COPY --from=build --chown=65532:65532 /data-skel /data
USER nonroot
EXPOSE 6006
VOLUME /data
# JSON logs (the default off a terminal); serve reads TBHOST_* variables too.
ENV TBHOST_LOG_FORMAT=json
HEALTHCHECK --interval=30s --timeout=6s --start-period=10s --retries=3 \
  CMD ["/tbhost", "health", "--timeout", "5s"]
ENTRYPOINT ["/tbhost"]
CMD ["serve", "--addr", ":6006", "--data", "/data"]
