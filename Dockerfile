# syntax=docker/dockerfile:1.7
# Cadence's image: the server and its site, built with cargo-leptos, on
# distroless `cc` (glibc, no shell, no package manager) as a non-root user.
# The root filesystem can be read-only: the server writes nothing but logs
# (PostgreSQL in a cluster; SQLite needs a writable volume for its file).
# It does not migrate at start when run with CADENCE_MIGRATE=off (the chart
# does); `server migrate` does it, from a Job, once per release.
#
#   docker build -t cadence .
#   docker run --read-only -p 3000:3000 -e DATABASE_URL=postgres://… cadence

ARG RUST_VERSION=1.96
ARG CARGO_LEPTOS_VERSION=0.3.11
# Exactly the wasm-bindgen crate version in Cargo.lock. (cargo-leptos --locked needs rustc 1.96.)
ARG WASM_BINDGEN_VERSION=0.2.130
ARG BINARYEN_VERSION=version_123

FROM rust:${RUST_VERSION}-bookworm AS tools
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG CARGO_LEPTOS_VERSION
ARG WASM_BINDGEN_VERSION
ARG BINARYEN_VERSION
RUN rustup target add wasm32-unknown-unknown
# The build tools, in a layer of their own: they change far less often than the code.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo install --locked cargo-leptos --version "${CARGO_LEPTOS_VERSION}" \
 && cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" \
 && cargo install --locked cargo-chef --version 0.1.71
RUN curl -fsSL "https://github.com/WebAssembly/binaryen/releases/download/${BINARYEN_VERSION}/binaryen-${BINARYEN_VERSION}-x86_64-linux.tar.gz" \
    | tar xz -C /opt && ln -s "/opt/binaryen-${BINARYEN_VERSION}/bin/wasm-opt" /usr/local/bin/wasm-opt
WORKDIR /src

# The dependency graph alone, so the next layer is rebuilt only when a manifest changes.
FROM tools AS plan
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM tools AS build
# Symbols off the shipped binary: 50 MB becomes 28 MB (10 MB gzipped).
ENV CARGO_PROFILE_RELEASE_STRIP=symbols
COPY --from=plan /src/recipe.json recipe.json
# Dependencies first: the server's (native, release) and the islands' (wasm32, wasm-release).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo chef cook --release --package server --recipe-path recipe.json \
 && cargo chef cook --profile wasm-release --target wasm32-unknown-unknown --package frontend --recipe-path recipe.json
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo leptos build --release \
 && mkdir -p /out \
 && cp target/release/server target/release/hash.txt /out/ \
 && cp -r target/site /out/site

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build --chown=65532:65532 /out /app
WORKDIR /app
ENV LEPTOS_SITE_ROOT=/app/site \
    LEPTOS_OUTPUT_NAME=cadence \
    CADENCE_BIND=0.0.0.0:3000 \
    CADENCE_LOG_FORMAT=json \
    RUST_LOG=info,sqlx=warn
USER 65532:65532
EXPOSE 3000
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz.
ENTRYPOINT ["/app/server"]
