//! node (the host's `/usr/bin/node`) with a small `server.js`, started as `node server.js` in
//! exec form or as `npm start` (the host's npm, which runs the start script through `/bin/sh
//! -c`: dash here, as on Debian-based images).

use std::path::PathBuf;

use super::{HTTP_PORT, RuntimeImage, accounts, keep_dir, text, third_party_label};
use crate::images::rootfs::{HostBinary, HostTree, RootfsImage};
use crate::model::runtime::Runtime;
use crate::model::variant::ServerMode;

/// Where npm lives: nodesource's package keeps npm and its modules in one tree; Debian's `npm`
/// puts npm and every module it needs, each its own package, in Debian's node module tree.
const NPM_LAYOUTS: [NpmLayout; 2] = [
    NpmLayout {
        tree: "/usr/lib/node_modules/npm",
        cli: "../lib/node_modules/npm/bin/npm-cli.js",
    },
    NpmLayout {
        tree: "/usr/share/nodejs",
        cli: "../share/nodejs/npm/bin/npm-cli.js",
    },
];

/// One way npm is laid out on a host: the tree to copy, and `/usr/bin/npm`'s link into it.
struct NpmLayout {
    tree: &'static str,
    cli: &'static str,
}

/// The layout of the host's npm: the first whose tree holds npm (nodesource's when neither
/// does, so that the forge's error names the tree it looked for).
fn npm_layout(root: &std::path::Path) -> &'static NpmLayout {
    NPM_LAYOUTS
        .iter()
        .find(|layout| {
            let cli = normalise(&std::path::Path::new("/usr/bin").join(layout.cli));
            root.join(cli.trim_start_matches('/')).exists()
        })
        .unwrap_or(&NPM_LAYOUTS[0])
}

/// `/usr/bin/../lib/x` as `/usr/lib/x`.
fn normalise(path: &std::path::Path) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.to_str().unwrap_or("").split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The server: `GET /healthz` answers at once, `GET /?delay=1500ms` after that long (`GET /`
/// after the image's delay). It logs what it receives and answers. Without its listen line
/// ([`LISTEN_JS`]), so that node-ws can add its WebSocket server to the same HTTP server.
pub(super) const HTTP_SERVER_JS: &str = r#"'use strict';
const http = require('http');

const DEFAULT_DELAY_MS = @DELAY_MS@;

function delayOf(url) {
  const m = /[?&]delay=(\d+)(ms|s)\b/.exec(url);
  if (!m) return DEFAULT_DELAY_MS;
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok\n');
    return;
  }
  console.log(`received ${req.method} ${req.url}`);
  setTimeout(() => {
    res.end('ok\n');
    console.log(`answered ${req.url}`);
  }, delayOf(req.url));
});
"#;

/// The server's listen line.
pub(super) const LISTEN_JS: &str = "
server.listen(@PORT@, () => console.log('listening on @PORT@'));
";

/// The graceful handler: stop accepting, let the requests in flight finish, exit 0.
const SIGTERM_HANDLER_JS: &str = r#"
process.on('SIGTERM', () => {
  console.log('SIGTERM: closing the listener, draining');
  server.close(() => {
    console.log('drained, exiting');
    process.exit(0);
  });
});
"#;

/// `server.js` for `image`: with the SIGTERM handler when its mode is graceful, with none at all
/// when it is unhandled (as most hand-written servers are).
fn server_js(image: &RuntimeImage) -> String {
    node_server_js(image, "", SIGTERM_HANDLER_JS)
}

/// A node runtime's `server.js` for `image`: the HTTP server, `more` (which may use `server`),
/// the listen line, and `handler` when its mode is graceful (none at all otherwise: node's own
/// default disposition then applies).
pub(super) fn node_server_js(image: &RuntimeImage, more: &str, handler: &str) -> String {
    let mut js = [HTTP_SERVER_JS, more, LISTEN_JS]
        .concat()
        .replace("@DELAY_MS@", &image.delay.as_millis().to_string())
        .replace("@PORT@", &HTTP_PORT.to_string());
    if image.mode == ServerMode::Graceful {
        js.push_str(handler);
    }
    js
}

/// The package.json `npm start` reads.
const PACKAGE_JSON: &str = r#"{
  "name": "slow-server",
  "version": "1.0.0",
  "private": true,
  "scripts": {
    "start": "node server.js"
  }
}
"#;

/// What the image of `image.runtime` (node or npm-start) is made of: the host's node (and npm
/// and dash for npm-start).
pub(super) fn node_spec(image: &RuntimeImage) -> RootfsImage {
    let npm = image.runtime == Runtime::NpmStart;
    let host_binary = |path: &str, package: &str| HostBinary {
        candidates: vec![PathBuf::from(path)],
        package: package.to_string(),
        installed_as: vec![path.to_string()],
        is_static: false,
    };
    let mut binaries = vec![host_binary("/usr/bin/node", "nodejs")];
    let mut trees = Vec::new();
    let mut symlinks = Vec::new();
    let mut instructions = vec![format!("EXPOSE {HTTP_PORT}"), "WORKDIR /app".to_string()];
    if npm {
        // npm's script is `#!/usr/bin/env node`, and it runs the start script with `sh -c`.
        binaries.push(host_binary("/usr/bin/env", "coreutils"));
        binaries.push(HostBinary {
            installed_as: vec!["/bin/sh".to_string(), "/bin/dash".to_string()],
            ..host_binary("/bin/dash", "dash")
        });
        let layout = npm_layout(std::path::Path::new("/"));
        trees.push(HostTree {
            host: PathBuf::from(layout.tree),
            installed_as: layout.tree.to_string(),
            package: "npm (or nodesource's nodejs, which carries it)".to_string(),
            skip: vec!["man".to_string(), "docs".to_string()],
        });
        symlinks.push(("/usr/bin/npm".to_string(), layout.cli.to_string()));
        // No registry is reachable: npm must not ask one whether it is outdated.
        instructions.push("ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false".to_string());
        instructions.push(r#"ENTRYPOINT ["npm", "start"]"#.to_string());
    } else {
        instructions.push(r#"ENTRYPOINT ["node", "server.js"]"#.to_string());
    }
    RootfsImage {
        repository: image.runtime.name().to_string(),
        flavour: Some(image.mode.name().to_string()),
        binaries,
        trees,
        symlinks,
        files: [
            text("/app/server.js", &server_js(image)),
            text("/app/package.json", PACKAGE_JSON),
        ]
        .into_iter()
        .chain(accounts())
        .chain(["/tmp", "/root"].into_iter().map(keep_dir))
        .collect(),
        instructions,
        labels: third_party_label(image.runtime.name()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn npm_is_found_in_nodesource_s_layout_or_debian_s() {
        let root = std::env::temp_dir().join(format!("npm-layout-{}", std::process::id()));
        let debian = root.join("usr/share/nodejs/npm/bin");
        std::fs::create_dir_all(&debian).unwrap();
        std::fs::write(debian.join("npm-cli.js"), "").unwrap();
        assert_eq!(npm_layout(&root).tree, "/usr/share/nodejs");
        let nodesource = root.join("usr/lib/node_modules/npm/bin");
        std::fs::create_dir_all(&nodesource).unwrap();
        std::fs::write(nodesource.join("npm-cli.js"), "").unwrap();
        assert_eq!(npm_layout(&root).tree, "/usr/lib/node_modules/npm");
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            normalise(std::path::Path::new("/usr/bin/../share/nodejs/npm")),
            "/usr/share/nodejs/npm"
        );
    }

    #[test]
    fn only_the_graceful_server_has_a_handler() {
        let image = |mode| RuntimeImage::new(Runtime::Node, mode, Duration::from_secs(2), None);
        let graceful = server_js(&image(ServerMode::Graceful));
        let unhandled = server_js(&image(ServerMode::Unhandled));
        assert!(graceful.contains("process.on('SIGTERM'"));
        assert!(!unhandled.contains("SIGTERM"));
        assert!(unhandled.contains("const DEFAULT_DELAY_MS = 2000;"));
        assert!(unhandled.contains("server.listen(8080,"));
    }
}
