# receptor-test/gateway: the stand-ins for Kong, GoTrue, PostgREST and the edge runtime
# (stand-ins/gateway), built by tests/stack/build-images.sh around a static binary.
# Nothing here is pulled. The compose file names the role (`command: ["kong"]`) and its
# healthcheck (`/stand-in-gateway ROLE --health`).
FROM scratch
COPY stand-in-gateway /stand-in-gateway
EXPOSE 8000
USER 65534:65534
# Each role finishes the requests in flight on SIGTERM (stand-ins/gateway/src/stop.rs).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/stand-in-gateway"]
