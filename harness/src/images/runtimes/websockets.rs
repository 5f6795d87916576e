//! A WebSocket server on Debian's python3-websockets and `/usr/bin/python3`, with or without a
//! SIGTERM handler, in exec form or shell form.

use super::python::{dist_package, libgcc_s, python_server_spec};
use super::{HTTP_PORT, RuntimeImage};
use crate::images::rootfs::RootfsImage;

/// The server: `GET /ws?every=100ms` sends `tick N` every `every` (100 ms unless said) and
/// echoes what it gets; `GET /healthz` answers at once, `GET /?delay=1500ms` after that long
/// (`GET /` after the image's delay). websockets installs no signal handler of its own: in
/// `graceful` mode the server's handler leaves `serve()`, whose close closes the listener, then
/// every connection with 1001; in `unhandled` mode Python's default disposition applies.
const SERVER_PY: &str = r#""""A WebSocket server on python3-websockets; the mode is the first argument."""
import asyncio
import http
import os
import re
import signal
import sys

import websockets

PORT = @PORT@
DEFAULT_DELAY_S = @DELAY_S@
MODE = sys.argv[1] if len(sys.argv) > 1 else "graceful"


def log(*args):
    print(*args, flush=True)


def duration_of(query, name, default):
    m = re.search(r"(?:^|&)" + name + r"=(\d+)(ms|s)\b", query)
    if not m:
        return default
    return int(m.group(1)) / (1 if m.group(2) == "s" else 1000)


async def http_or_upgrade(path, headers):
    route, _, query = path.partition("?")
    if route == "/ws":
        return None  # on with the WebSocket handshake
    if route == "/healthz":
        return http.HTTPStatus.OK, [], b"ok\n"
    log(f"received GET {path}")
    await asyncio.sleep(duration_of(query, "delay", DEFAULT_DELAY_S))
    log(f"answered {path}")
    return http.HTTPStatus.OK, [], b"ok\n"


async def handler(ws):
    peer = ws.remote_address
    every = duration_of(ws.path.partition("?")[2], "every", 0.1)
    log(f"open {peer}")

    async def ticks():
        n = 0
        while True:
            n += 1
            await ws.send(f"tick {n}")
            await asyncio.sleep(every)

    task = asyncio.ensure_future(ticks())
    try:
        async for message in ws:
            await ws.send(f"echo: {message}")
    except websockets.ConnectionClosed:
        pass
    finally:
        task.cancel()
        log(f"closed {peer} code={ws.close_code} reason={ws.close_reason!r}")


async def main():
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    if MODE == "graceful":
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda s=sig: stop.done() or stop.set_result(s))
    # Leaving `serve` calls Server.close(): the listener closes, then every open connection is
    # closed with 1001 (going away) and awaited for close_timeout.
    async with websockets.serve(handler, "0.0.0.0", PORT, process_request=http_or_upgrade,
                                close_timeout=2):
        log(f"listening on {PORT} ({MODE})")
        got = await stop
        log(f"{signal.Signals(got).name}: closing connections with 1001")
    log("closed, exiting")


if __name__ == "__main__":
    asyncio.run(main())
"#;

/// `server.py` with the image's port and default delay.
fn server_py(image: &RuntimeImage) -> String {
    SERVER_PY
        .replace("@PORT@", &HTTP_PORT.to_string())
        .replace("@DELAY_S@", &format!("{}", image.delay.as_secs_f64()))
}

/// What the image is made of: Debian's Python, its standard library (websockets imports `ssl`
/// even for ws://, so libssl comes with `_ssl`), the websockets package and the server, started
/// as `/usr/bin/python3 /app/server.py MODE` so the mode shows in the command.
pub(super) fn websockets_spec(image: &RuntimeImage) -> RootfsImage {
    python_server_spec(
        image,
        vec![dist_package("websockets", "python3-websockets"), libgcc_s()],
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
    fn the_mode_is_in_the_command_and_the_shell_form_brings_a_shell() {
        let image = |runtime| {
            RuntimeImage::new(
                runtime,
                ServerMode::Unhandled,
                Duration::from_millis(1500),
                None,
            )
        };
        let exec = websockets_spec(&image(Runtime::PythonWebsockets));
        assert_eq!(
            exec.instructions.last().unwrap(),
            r#"ENTRYPOINT ["/usr/bin/python3","/app/server.py","unhandled"]"#
        );
        assert_eq!(exec.binaries.len(), 1);
        let shell = websockets_spec(&image(Runtime::PythonWebsocketsShellForm));
        assert_eq!(
            shell.instructions.last().unwrap(),
            "ENTRYPOINT /usr/bin/python3 /app/server.py unhandled"
        );
        assert!(
            shell
                .binaries
                .iter()
                .any(|b| b.installed_as.contains(&"/bin/sh".to_string()))
        );
        assert!(server_py(&image(Runtime::PythonWebsockets)).contains("DEFAULT_DELAY_S = 1.5\n"));
    }
}
