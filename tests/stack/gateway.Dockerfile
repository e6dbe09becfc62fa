# receptor-test/gateway: the stand-ins for Kong, its TCP front, GoTrue, PostgREST and the
# edge runtime (stand-ins/gateway), built by tests/stack/build-images.sh around a static binary, plus
# Debian's static BusyBox for the POSIX sh and awk that run the project's own
# kong-entrypoint.sh. Nothing here is pulled. The compose file names the role
# (`command: ["auth"]`), or, for kong, runs the entrypoint script as the template does;
# the script ends in `exec /entrypoint.sh kong docker-start`, which here is the stand-in.
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "ln", "-s", "busybox", "/bin/sh"]
RUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/usr/local/kong", "/var/lib/stand-in-auth", "/tmp", "/etc/nginx"]
RUN ["/bin/busybox", "ln", "-s", "/bin/busybox", "/usr/bin/awk"]
# The front renders nginx.conf into /etc/nginx as the nginx image's entrypoint does.
RUN ["/bin/busybox", "chown", "65534:65534", "/usr/local/kong", "/var/lib/stand-in-auth", "/etc/nginx"]
RUN ["/bin/busybox", "chmod", "1777", "/tmp"]
COPY stand-in-gateway /stand-in-gateway
COPY entrypoint.sh /entrypoint.sh
EXPOSE 8000
USER 65534:65534
# Each role finishes the requests in flight on SIGTERM (stand-ins/gateway/src/stop.rs);
# the auth stand-in writes its state file by rename, so even a kill never leaves half a file.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/stand-in-gateway"]
