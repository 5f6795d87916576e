# Shell form with `exec`: `/bin/sh -c "exec server"` makes the shell replace itself with the server, on any shell.
ARG BASE=scratch
FROM ${BASE}
COPY server /usr/local/bin/server
EXPOSE 1202
ENTRYPOINT exec server
