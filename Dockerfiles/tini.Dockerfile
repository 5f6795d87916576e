# tini as PID 1 (tini-static from the host): it forwards the stop signal to the server and reaps children.
ARG BASE=scratch
FROM ${BASE}
COPY tini /sbin/tini
COPY server /usr/local/bin/server
EXPOSE 1202
ENTRYPOINT ["/sbin/tini", "--", "server"]
