# receptor-test/gateway: the stand-in for Kong and the edge runtime (stand-ins/gateway),
# built by tests/stack/build-images.sh around a static binary. Nothing here is pulled.
FROM scratch
COPY stand-in-gateway /stand-in-gateway
ENV LISTEN=0.0.0.0:8000
EXPOSE 8000
USER 65534:65534
# Stateless and without a signal handler (it is PID 1): stop it at once.
STOPSIGNAL SIGKILL
HEALTHCHECK --interval=1s --timeout=3s --retries=30 CMD ["/stand-in-gateway", "--health"]
ENTRYPOINT ["/stand-in-gateway"]
