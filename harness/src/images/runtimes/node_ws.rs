//! A WebSocket server on the host's node with Debian's `ws` package (node-ws), with or without
//! a SIGTERM listener, in exec form or shell form.

use std::path::PathBuf;

use super::node::node_server_js;
use super::{
    HTTP_PORT, RuntimeImage, accounts, dash, entrypoint, keep_dir, text, third_party_label,
};
use crate::images::rootfs::{HostBinary, HostTree, RootfsImage};

/// Where Debian's node-ws installs `ws`.
const WS_TREE: &str = "/usr/share/nodejs/ws";

/// The WebSocket server, on node's HTTP server (`GET /healthz`, `GET /?delay=1500ms`):
/// `GET /ws?every=100ms` sends `tick N` every `every` (100 ms unless said) and echoes what it
/// gets.
const WS_SERVER_JS: &str = r#"
const { WebSocketServer } = require('ws');

function everyOf(url) {
  const m = /[?&]every=(\d+)(ms|s)\b/.exec(url);
  if (!m) return 100;
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

const wss = new WebSocketServer({ server, path: '/ws' });

wss.on('connection', (ws, req) => {
  const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  console.log(`open ${peer}`);
  let n = 0;
  const timer = setInterval(() => ws.send(`tick ${++n}`), everyOf(req.url));
  ws.on('message', (data) => ws.send(`echo: ${data}`));
  ws.on('close', (code, reason) => {
    clearInterval(timer);
    console.log(`closed ${peer} code=${code} reason=${reason}`);
  });
});
"#;

/// The graceful listener. `wss.close()` alone is not enough: since ws 8 it closes no client when
/// attached to an HTTP server, so each is closed with 1001; `server.close()`'s callback runs
/// once every socket, upgraded ones included, has ended. A client that never answers the close
/// frame is terminated after 1 s (ws would wait 30 s).
const SIGTERM_HANDLER_JS: &str = r#"
process.on('SIGTERM', () => {
  console.log('SIGTERM: closing every client with 1001');
  server.close(() => {
    console.log('all connections closed, exiting');
    process.exit(0);
  });
  wss.close();
  for (const ws of wss.clients) ws.close(1001, 'going away');
  setTimeout(() => {
    for (const ws of wss.clients) ws.terminate();
  }, 1000).unref();
});
"#;

/// `server.js` for `image`: with the SIGTERM listener when its mode is graceful, with none at
/// all otherwise (node's own default handler then applies).
fn server_js(image: &RuntimeImage) -> String {
    node_server_js(image, WS_SERVER_JS, SIGTERM_HANDLER_JS)
}

/// What the image is made of: the host's node and `ws` at `/app/node_modules/ws`, where node's
/// own resolution finds it from `/app/server.js` (nodesource's node, this host's, does not
/// search Debian's `/usr/share/nodejs`; Debian's own node does, either works).
pub(super) fn node_ws_spec(image: &RuntimeImage) -> RootfsImage {
    let mut binaries = vec![HostBinary {
        candidates: vec![PathBuf::from("/usr/bin/node")],
        package: "nodejs".to_string(),
        installed_as: vec!["/usr/bin/node".to_string()],
        is_static: false,
    }];
    if image.runtime.shell_form() {
        binaries.push(dash());
    }
    RootfsImage {
        repository: image.runtime.name().to_string(),
        flavour: Some(image.mode.name().to_string()),
        binaries,
        trees: vec![HostTree {
            host: PathBuf::from(WS_TREE),
            installed_as: "/app/node_modules/ws".to_string(),
            package: "node-ws".to_string(),
            // The browser stub is never loaded by node.
            skip: vec!["browser.js".to_string()],
        }],
        symlinks: Vec::new(),
        files: [text("/app/server.js", &server_js(image))]
            .into_iter()
            .chain(accounts())
            .chain(["/tmp", "/root"].into_iter().map(keep_dir))
            .collect(),
        instructions: vec![
            format!("EXPOSE {HTTP_PORT}"),
            "WORKDIR /app".to_string(),
            entrypoint(image.runtime, &["node", "/app/server.js"]),
        ],
        labels: third_party_label(image.runtime.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::runtime::Runtime;
    use crate::model::variant::ServerMode;
    use std::time::Duration;

    #[test]
    fn only_the_graceful_server_closes_its_clients() {
        let image = |mode| RuntimeImage::new(Runtime::NodeWs, mode, Duration::from_secs(2), None);
        let graceful = server_js(&image(ServerMode::Graceful));
        let unhandled = server_js(&image(ServerMode::Unhandled));
        assert!(graceful.contains("ws.close(1001, 'going away')"));
        assert!(!unhandled.contains("SIGTERM"));
        assert!(unhandled.contains("const DEFAULT_DELAY_MS = 2000;"));
    }
}
