//! Debian's Python in a runtime's image: the interpreter, its standard library and one package
//! from Debian's dist-packages, as the gunicorn, WebSocket and gRPC images need them.

use std::path::PathBuf;

use super::{
    HTTP_PORT, RuntimeImage, accounts, dash, entrypoint, keep_dir, text, third_party_label,
};
use crate::images::rootfs::{HostBinary, HostTree, RootfsImage};

/// Debian's Python (not a pyenv or venv one: the Python packages are installed for it).
pub(super) const PYTHON: &str = "/usr/bin/python3.11";
/// Its standard library.
pub(super) const STDLIB: &str = "/usr/lib/python3.11";
/// Where Debian installs Python packages.
pub(super) const DIST_PACKAGES: &str = "/usr/lib/python3/dist-packages";
/// What of the standard library is not needed to run (25 MB of libpython.a alone).
pub(super) const STDLIB_SKIP: [&str; 4] =
    ["config-3.11-x86_64-linux-gnu", "test", "idlelib", "tkinter"];
/// glibc loads it at run time when a thread ends, without ldd listing it.
pub(super) const LIBGCC_S: &str = "/lib/x86_64-linux-gnu/libgcc_s.so.1";
/// Python writes its bytecode cache beside read-mostly sources: not worth a layer; and a log
/// line must reach `docker logs` when it is printed.
pub(super) const PYTHON_ENV: &str = "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1";

/// The interpreter (its libraries come with it).
pub(super) fn python_binary() -> HostBinary {
    HostBinary {
        candidates: vec![PathBuf::from(PYTHON)],
        package: "python3".to_string(),
        installed_as: vec![PYTHON.to_string()],
        is_static: false,
    }
}

/// `/usr/bin/python3`, as Debian links it.
pub(super) fn python_symlink() -> (String, String) {
    ("/usr/bin/python3".to_string(), "python3.11".to_string())
}

/// The standard library, its extension modules' libraries (libssl for `_ssl`, ...) with it.
pub(super) fn stdlib() -> HostTree {
    host_tree(STDLIB.to_string(), "python3", &STDLIB_SKIP)
}

/// The package `name` from Debian's dist-packages, installed by Debian package `package`; only
/// that directory: the host's dist-packages also holds `.pth` files `site` would run.
pub(super) fn dist_package(name: &str, package: &str) -> HostTree {
    host_tree(format!("{DIST_PACKAGES}/{name}"), package, &[])
}

/// libgcc_s, which a threaded Python needs at a thread's end.
pub(super) fn libgcc_s() -> HostTree {
    host_tree(LIBGCC_S.to_string(), "libgcc-s1", &[])
}

/// A Python server's image: Debian's Python and its standard library, then `packages` (in that
/// order), and `server_py` at `/app/server.py`, started as `/usr/bin/python3 /app/server.py
/// MODE` (so the mode shows in the command) in the runtime's form (dash with it in shell form).
pub(super) fn python_server_spec(
    image: &RuntimeImage,
    packages: Vec<HostTree>,
    server_py: &str,
) -> RootfsImage {
    let mut binaries = vec![python_binary()];
    if image.runtime.shell_form() {
        binaries.push(dash());
    }
    RootfsImage {
        repository: image.runtime.name().to_string(),
        flavour: Some(image.mode.name().to_string()),
        binaries,
        trees: std::iter::once(stdlib()).chain(packages).collect(),
        symlinks: vec![python_symlink()],
        files: [text("/app/server.py", server_py)]
            .into_iter()
            .chain(accounts())
            .chain(std::iter::once(keep_dir("/tmp")))
            .collect(),
        instructions: vec![
            format!("EXPOSE {HTTP_PORT}"),
            PYTHON_ENV.to_string(),
            "WORKDIR /app".to_string(),
            entrypoint(
                image.runtime,
                &["/usr/bin/python3", "/app/server.py", image.mode.name()],
            ),
        ],
        labels: third_party_label(image.runtime.name()),
    }
}

fn host_tree(host: String, package: &str, skip: &[&str]) -> HostTree {
    HostTree {
        installed_as: host.clone(),
        host: PathBuf::from(host),
        package: package.to_string(),
        skip: skip.iter().map(|s| s.to_string()).collect(),
    }
}
