//! The project's gRPC service (`shutdown.v1.Probe`) on Debian's python3-grpcio and
//! `/usr/bin/python3`, with or without a SIGTERM handler, in exec form or shell form.

use super::python::{dist_package, python_server_spec};
use super::{HTTP_PORT, RuntimeImage};
use crate::images::rootfs::RootfsImage;

/// The server: `Slow` and `Tick` as graceful-server serves them, on [`HTTP_PORT`] (gRPC only,
/// so readiness is the port accepting). No generated stubs: Debian's grpc-tools is far older
/// than its grpcio, and every field of the four messages is a uint64, so a generic handler with
/// a hand-written varint codec serves them (the harness's tonic client, compiled from the same
/// .proto, speaks to it unchanged). In `graceful` mode SIGTERM calls `server.stop(GRACE_S)`:
/// the port closes (new calls UNAVAILABLE), calls in flight get GRACE_S, then the rest are
/// cancelled; in `unhandled` mode Python's default disposition applies.
const SERVER_PY: &str = r#""""The project's gRPC service shutdown.v1.Probe (server/contract/proto/shutdown/v1/probe.proto) on
Debian's python3-grpcio (1.51), without generated stubs: the four messages carry only uint64
fields, encoded and decoded here by hand (proto3: a zero field is not on the wire).

    Slow(SlowRequest{delay_ms=1}) -> SlowReply{waited_ms=1}   (0: the image's default delay)
    Tick(TickRequest{every_ms=1, for_ms=2}) -> stream TickReply{number=1}

    python3 server.py graceful    on SIGTERM (or SIGINT): server.stop(GRACE_S): the port closes,
                                  new calls fail (UNAVAILABLE), calls in flight get GRACE_S to end,
                                  then whatever is left is cancelled; exit 0
    python3 server.py unhandled   no handler: Python's default SIGTERM disposition applies
"""
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

PORT = @PORT@
DEFAULT_DELAY_MS = @DELAY_MS@
GRACE_S = float(os.environ.get("GRACE_S", "3"))
MODE = sys.argv[1] if len(sys.argv) > 1 else "graceful"
MAX_MS = 10 * 60 * 1000


def log(*args):
    print(*args, flush=True)


# ---- protobuf wire format, varint fields only
def _varint(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode(fields):
    return b"".join(_varint(num << 3) + _varint(v) for num, v in sorted(fields.items()) if v)


def decode(buf):
    """{field number: value} of the varint fields; other wire types are skipped."""
    out, i = {}, 0

    def varint():
        nonlocal i
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return v

    while i < len(buf):
        key = varint()
        num, wire = key >> 3, key & 7
        if wire == 0:
            out[num] = varint()
        elif wire == 1:
            i += 8
        elif wire == 2:
            i += varint()
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"wire type {wire}")
    return out


# ---- the service
def slow(request, context):
    delay = request.get(1, 0) or DEFAULT_DELAY_MS
    if delay > MAX_MS:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "delay_ms above 10 minutes")
    log(f"Slow({delay}ms) started")
    time.sleep(delay / 1000)
    log(f"Slow({delay}ms) answered")
    return {1: delay}


def tick(request, context):
    every = request.get(1, 0) or 100
    length = request.get(2, 0) or 10_000
    if every > MAX_MS or length > MAX_MS:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "every_ms or for_ms above 10 minutes")
    log(f"Tick(every={every}ms, for={length}ms) started")
    start = time.monotonic()
    n = 0
    while True:
        n += 1
        yield {1: n}
        if (time.monotonic() - start) * 1000 + every > length:
            break
        time.sleep(every / 1000)
        if not context.is_active():  # cancelled by the client or by stop(grace)
            log(f"Tick cancelled after {n}")
            return
    log(f"Tick ended after {n}")


HANDLERS = grpc.method_handlers_generic_handler("shutdown.v1.Probe", {
    "Slow": grpc.unary_unary_rpc_method_handler(
        slow, request_deserializer=decode, response_serializer=encode),
    "Tick": grpc.unary_stream_rpc_method_handler(
        tick, request_deserializer=decode, response_serializer=encode),
})


def main():
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((HANDLERS,))
    server.add_insecure_port(f"0.0.0.0:{PORT}")
    stopped = threading.Event()
    if MODE == "graceful":
        def on_signal(signum, _frame):
            log(f"{signal.Signals(signum).name}: stop({GRACE_S}): in-flight calls get {GRACE_S} s")
            # stop() returns at once; the event is set when every call ended (or was cancelled).
            server.stop(GRACE_S).wait()
            stopped.set()

        # Before the port opens: a signal sent as soon as it accepts finds the handler.
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    server.start()
    log(f"listening on {PORT} ({MODE})")
    if MODE == "graceful":
        while not stopped.is_set():
            stopped.wait(0.5)  # a timed wait, so that the main thread runs the handler
        log("stopped, exiting")
    else:
        server.wait_for_termination()


if __name__ == "__main__":
    main()
"#;

/// `server.py` with the image's port and the default delay of `Slow` called with none.
fn server_py(image: &RuntimeImage) -> String {
    SERVER_PY
        .replace("@PORT@", &HTTP_PORT.to_string())
        .replace("@DELAY_MS@", &image.delay.as_millis().to_string())
}

/// What the image is made of: Debian's Python, its standard library, the grpc package (its
/// cygrpc extension links 49 libraries, Abseil's among them, which come with it as the forge
/// takes each shared object's own libraries) and the server, started as `/usr/bin/python3
/// /app/server.py MODE` so the mode shows in the command. python3-protobuf is not needed.
pub(super) fn grpcio_spec(image: &RuntimeImage) -> RootfsImage {
    python_server_spec(
        image,
        vec![dist_package("grpc", "python3-grpcio")],
        &server_py(image),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::runtime::Runtime;
    use crate::model::variant::ServerMode;
    use std::time::Duration;

    #[test]
    fn the_service_is_the_project_s_and_slow_defaults_to_the_image_s_delay() {
        let image = RuntimeImage::new(
            Runtime::Grpcio,
            ServerMode::Graceful,
            Duration::from_secs(2),
            None,
        );
        let py = server_py(&image);
        assert!(py.contains(&format!("\"{}\"", server_contract::stream::GRPC_SERVICE)));
        assert!(py.contains("PORT = 8080\nDEFAULT_DELAY_MS = 2000\n"));
        assert!(py.contains("server.stop(GRACE_S)"));
    }
}
