# syntax=docker/dockerfile:1
# Small runtime images of the reference server and the load generator, from one build.
#
#   docker build --target chat-server -t batepapo/chat-server .
#   docker build --target loadgen     -t batepapo/loadgen .
#
# The server's image is what a user deploys to be tested (deploy/kubernetes/chat-server.yaml);
# loadgen's runs one shard per pod (deploy/kubernetes/loadgen-job.yaml).

FROM rust:1.88-bookworm AS build
WORKDIR /src
COPY . .
# Line tables help a profiler on a workstation; in an image they would double the binaries.
ENV CARGO_PROFILE_RELEASE_DEBUG=0
# The registry and target caches survive between builds; the binaries are copied out of the
# cached target so that the next stage can see them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p chat-server -p loadgen \
    && mkdir -p /out \
    && cp target/release/chat-server target/release/loadgen /out/

# glibc and libgcc, no shell, no package manager, runs as an unprivileged user.
FROM gcr.io/distroless/cc-debian12:nonroot AS chat-server
COPY --from=build /out/chat-server /usr/local/bin/chat-server
EXPOSE 7777 9100
ENTRYPOINT ["/usr/local/bin/chat-server"]
CMD ["--listen", "0.0.0.0:7777", "--metrics", "0.0.0.0:9100"]

FROM gcr.io/distroless/cc-debian12:nonroot AS loadgen
COPY --from=build /out/loadgen /usr/local/bin/loadgen
ENTRYPOINT ["/usr/local/bin/loadgen"]
CMD ["--help"]
