# An entrypoint script that ends with `exec "$@"`: the script's setup runs, then the server replaces it as PID 1.
ARG BASE=scratch
FROM ${BASE}
COPY server /usr/local/bin/server
COPY entrypoint-exec.sh /usr/local/bin/entrypoint.sh
EXPOSE 1202
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
CMD ["server"]
