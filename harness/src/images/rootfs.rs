//! Forging an image from host files, `FROM scratch`: host binaries with the libraries they need,
//! host directory trees, symlinks and generated files. One representation serves the bases (a
//! shell) and the images of real servers (nginx, node, gunicorn), since nothing can be pulled.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use super::IMAGE_PREFIX;
use super::context::{BuildContext, short_digest};
use super::error::{BuildError, read_host_file};
use crate::engine::Engine;

/// The Dockerfile of every forged image, before its own instructions.
const ROOTFS_DOCKERFILE: &str = "FROM scratch\nCOPY rootfs/ /\n";

/// A host binary copied into a forged image, with the libraries it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostBinary {
    /// Where the binary may be on the host, in order of preference.
    pub candidates: Vec<PathBuf>,
    /// The Debian package that provides it (named in the error when it is missing).
    pub package: String,
    /// The paths inside the image that are copies of it.
    pub installed_as: Vec<String>,
    /// Static (nothing else is copied) rather than dynamically linked (its `ldd` libraries are).
    pub is_static: bool,
}

/// A host directory (or single file) copied into a forged image as it is: a runtime's library
/// (npm's `node_modules`, Python's standard library). Symbolic links inside it stay links; the
/// ELF shared objects in it bring the libraries they need, as a [`HostBinary`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostTree {
    /// The directory or file on the host.
    pub host: PathBuf,
    /// Where it goes inside the image.
    pub installed_as: String,
    /// The Debian package that provides it (named in the error when it is missing).
    pub package: String,
    /// Names of files and directories left out wherever they occur (`__pycache__`, `test`):
    /// what a runtime can do without keeps the image small and its digest stable.
    pub skip: Vec<String>,
}

/// A file made by the harness rather than copied from the host (a configuration, a page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Its absolute path inside the image.
    pub path: String,
    /// Its content.
    pub bytes: Vec<u8>,
    /// Its permission bits.
    pub mode: u32,
}

impl GeneratedFile {
    /// A text file with mode 0644.
    pub fn text(path: &str, content: &str) -> GeneratedFile {
        GeneratedFile {
            path: path.to_string(),
            bytes: content.as_bytes().to_vec(),
            mode: 0o644,
        }
    }

    /// An empty marker file, so that the build context (files only) creates `dir`.
    pub fn keep_dir(dir: &str) -> GeneratedFile {
        GeneratedFile::text(&format!("{dir}/.keep"), "")
    }
}

/// An image forged from host binaries and generated files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootfsImage {
    /// The repository under `localhost/shutdown-harness/` (`base`, `nginx`), also its name in
    /// errors.
    pub repository: String,
    /// What goes before the digest in the tag (`dash` in `base:dash-<digest>`), if anything.
    pub flavour: Option<String>,
    /// The binaries, each with its libraries.
    pub binaries: Vec<HostBinary>,
    /// Host directories and files copied as they are.
    pub trees: Vec<HostTree>,
    /// Symbolic links, as (path inside the image, target): busybox applets for example.
    pub symlinks: Vec<(String, String)>,
    /// The generated files.
    pub files: Vec<GeneratedFile>,
    /// Dockerfile instructions after the root filesystem is copied (`ENTRYPOINT [...]`, `EXPOSE`).
    pub instructions: Vec<String>,
    /// Labels besides the managed one.
    pub labels: HashMap<String, String>,
}

/// One entry of a forged root filesystem, keyed by its absolute path inside the image.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A regular file: the real bytes (symlinks on the host followed) and mode.
    File { bytes: Vec<u8>, mode: u32 },
    /// A symbolic link to `target`.
    Symlink { target: String },
}

/// A forged image: its content tag, and whether this call built it (false: it was cached).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forged {
    /// `localhost/shutdown-harness/<repository>:[<flavour>-]<12 hex of the context's sha256>`.
    pub tag: String,
    /// Whether it was built now.
    pub built: bool,
}

/// Builds the image `spec` describes unless an up-to-date one exists; its tag is derived from
/// the build context, so it is rebuilt only when the host's files or the spec change.
pub async fn forge(engine: &Engine, spec: &RootfsImage) -> Result<Forged, BuildError> {
    let failed = |reason: String| BuildError::Forge {
        image: spec.repository.clone(),
        reason,
    };
    let mut rootfs = BTreeMap::new();
    for binary in &spec.binaries {
        let host = binary
            .candidates
            .iter()
            .find(|path| path.is_file())
            .ok_or_else(|| BuildError::HostBinaryMissing {
                image: spec.repository.clone(),
                path: binary.candidates.first().cloned().unwrap_or_default(),
                package: binary.package.clone(),
            })?;
        let (bytes, mode) = read_real_file(host).await?;
        match (elf_has_interpreter(&bytes), binary.is_static) {
            (None, _) => {
                return Err(failed(format!(
                    "{} is not an x86-64 ELF executable",
                    host.display()
                )));
            }
            (Some(true), true) => {
                return Err(failed(format!(
                    "{} is dynamically linked: install the static build with `apt-get install {}`",
                    host.display(),
                    binary.package
                )));
            }
            (Some(true), false) => {
                for library in ldd_libraries(host, false).await.map_err(failed)? {
                    let (bytes, mode) = read_real_file(&library).await?;
                    rootfs.insert(path_string(&library), Entry::File { bytes, mode });
                }
            }
            (Some(false), _) => {}
        }
        for path in &binary.installed_as {
            let entry = Entry::File {
                bytes: bytes.clone(),
                mode,
            };
            rootfs.insert(path.clone(), entry);
        }
    }
    for tree in &spec.trees {
        if !tree.host.exists() {
            return Err(BuildError::HostBinaryMissing {
                image: spec.repository.clone(),
                path: tree.host.clone(),
                package: tree.package.clone(),
            });
        }
        let walked = tree.clone();
        let entries = tokio::task::spawn_blocking(move || walk_tree(&walked))
            .await
            .map_err(|e| failed(format!("reading {} failed: {e}", tree.host.display())))?
            .map_err(|(path, source)| BuildError::Read { path, source })?;
        for (path, entry) in entries {
            if let Entry::File { bytes, .. } = &entry
                && elf_has_interpreter(bytes).is_some()
            {
                for library in ldd_libraries(&host_path(tree, &path), true)
                    .await
                    .map_err(failed)?
                {
                    let (bytes, mode) = read_real_file(&library).await?;
                    rootfs.insert(path_string(&library), Entry::File { bytes, mode });
                }
            }
            rootfs.insert(path, entry);
        }
    }
    for (path, target) in &spec.symlinks {
        let target = target.clone();
        rootfs.insert(path.clone(), Entry::Symlink { target });
    }
    for file in &spec.files {
        let entry = Entry::File {
            bytes: file.bytes.clone(),
            mode: file.mode,
        };
        rootfs.insert(file.path.clone(), entry);
    }
    let mut dockerfile = ROOTFS_DOCKERFILE.to_string();
    for instruction in &spec.instructions {
        dockerfile.push_str(instruction);
        dockerfile.push('\n');
    }
    let context = rootfs_context(&dockerfile, &rootfs).map_err(|e| failed(e.to_string()))?;
    let digest = short_digest(&context);
    let tag = match &spec.flavour {
        Some(flavour) => format!("{IMAGE_PREFIX}/{}:{flavour}-{digest}", spec.repository),
        None => format!("{IMAGE_PREFIX}/{}:{digest}", spec.repository),
    };
    if engine.image(&tag).await?.is_some() {
        return Ok(Forged { tag, built: false });
    }
    engine
        .build_image(&tag, context, HashMap::new(), spec.labels.clone())
        .await?;
    Ok(Forged { tag, built: true })
}

/// A build context of `dockerfile` plus `rootfs/` holding the entries.
fn rootfs_context(dockerfile: &str, rootfs: &BTreeMap<String, Entry>) -> std::io::Result<Vec<u8>> {
    let mut context = BuildContext::new();
    context.add_file("Dockerfile", dockerfile.as_bytes(), 0o644)?;
    for (path, entry) in rootfs {
        let inside = format!("rootfs{path}");
        match entry {
            Entry::File { bytes, mode } => context.add_file(&inside, bytes, *mode)?,
            Entry::Symlink { target } => context.add_symlink(&inside, target)?,
        }
    }
    context.finish()
}

/// The shared libraries (and the dynamic loader) of `binary`, as `ldd` resolves them; `Err`
/// says why they cannot be known. An executable needs at least the loader; a `shared_object`
/// may need nothing.
async fn ldd_libraries(binary: &Path, shared_object: bool) -> Result<Vec<PathBuf>, String> {
    let output = Command::new("ldd")
        .arg(binary)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run ldd (package libc-bin): {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let libraries = parse_ldd(&text).map_err(|missing| {
        format!(
            "{} needs {missing}, which ldd cannot find",
            binary.display()
        )
    })?;
    // A shared object may need nothing (ldd: "statically linked"); an executable needs the loader.
    if libraries.is_empty() && !shared_object {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "ldd found no libraries for {}: {}",
            binary.display(),
            stderr.trim()
        ));
    }
    Ok(libraries)
}

/// The host path of `inside`, a path inside the image under `tree.installed_as`.
fn host_path(tree: &HostTree, inside: &str) -> PathBuf {
    let relative = inside
        .strip_prefix(tree.installed_as.as_str())
        .unwrap_or_default()
        .trim_start_matches('/');
    if relative.is_empty() {
        tree.host.clone()
    } else {
        tree.host.join(relative)
    }
}

/// Every file and symbolic link of `tree`, keyed by its path inside the image, in sorted order
/// (so the context, and the tag, depend on content alone); `Err` names the path that failed.
fn walk_tree(tree: &HostTree) -> Result<Vec<(String, Entry)>, (PathBuf, std::io::Error)> {
    let mut entries = Vec::new();
    let mut pending = vec![(tree.host.clone(), tree.installed_as.clone())];
    while let Some((host, inside)) = pending.pop() {
        let at = |source| (host.clone(), source);
        let metadata = std::fs::symlink_metadata(&host).map_err(at)?;
        if metadata.file_type().is_symlink() {
            let target = std::fs::read_link(&host).map_err(at)?;
            let target = path_string(&target);
            entries.push((inside, Entry::Symlink { target }));
        } else if metadata.is_dir() {
            let mut children: Vec<_> = std::fs::read_dir(&host)
                .map_err(at)?
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .filter(|name| !tree.skip.iter().any(|s| name.as_os_str() == s.as_str()))
                .collect();
            children.sort();
            for name in children.into_iter().rev() {
                let child = format!("{inside}/{}", name.to_string_lossy());
                pending.push((host.join(&name), child));
            }
        } else if metadata.is_file() {
            let bytes = std::fs::read(&host).map_err(at)?;
            let mode = metadata.permissions().mode() & 0o7777;
            entries.push((inside, Entry::File { bytes, mode }));
        }
    }
    Ok(entries)
}

/// Reads a host file's bytes and permission bits, following symlinks to the real file.
async fn read_real_file(path: &Path) -> Result<(Vec<u8>, u32), BuildError> {
    let bytes = read_host_file(path).await?;
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|source| BuildError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok((bytes, metadata.permissions().mode() & 0o7777))
}

fn path_string(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Parses `ldd` output into the absolute paths it resolved; `Err(name)` for a library not found.
///
/// Lines look like `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`, or
/// `/lib64/ld-linux-x86-64.so.2 (0x...)` for the loader; `linux-vdso.so.1` has no file.
fn parse_ldd(output: &str) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for line in output.lines().map(str::trim) {
        let resolved = match line.split_once("=>") {
            Some((name, rest)) => {
                let (name, rest) = (name.trim(), rest.trim());
                if rest.starts_with("not found") {
                    return Err(name.to_string());
                }
                // Some ldd versions print the loader as `/lib64/ld-... => /lib/.../ld-...`:
                // the binary asks for the name, so it must exist too.
                if name.starts_with('/') {
                    paths.push(PathBuf::from(name));
                }
                rest
            }
            None => line,
        };
        let path = resolved.split(" (").next().unwrap_or_default().trim();
        if path.starts_with('/') {
            paths.push(PathBuf::from(path));
        }
    }
    Ok(paths)
}

/// Whether an x86-64 little-endian ELF file has a `PT_INTERP` program header (is dynamically
/// linked); `None` when the bytes are not such an ELF file.
fn elf_has_interpreter(elf: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let phoff = usize::try_from(u64::from_le_bytes(elf.get(32..40)?.try_into().ok()?)).ok()?;
    let phentsize = usize::from(u16::from_le_bytes(elf.get(54..56)?.try_into().ok()?));
    let phnum = usize::from(u16::from_le_bytes(elf.get(56..58)?.try_into().ok()?));
    for index in 0..phnum {
        let start = phoff.checked_add(index.checked_mul(phentsize)?)?;
        let end = start.checked_add(4)?;
        let p_type = u32::from_le_bytes(elf.get(start..end)?.try_into().ok()?);
        if p_type == PT_INTERP {
            return Some(true);
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_gives_libraries_and_loader() {
        let output = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                      \tlibtinfo.so.6 => /lib/x86_64-linux-gnu/libtinfo.so.6 (0x00007f)\n\
                      \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                      \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        let paths = parse_ldd(output).unwrap();
        assert_eq!(
            paths,
            [
                "/lib/x86_64-linux-gnu/libtinfo.so.6",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn ldd_reports_a_missing_library() {
        let output = "\tlibfoo.so.1 => not found\n";
        assert_eq!(parse_ldd(output), Err("libfoo.so.1".to_string()));
    }

    #[test]
    fn static_ldd_output_gives_nothing() {
        assert_eq!(parse_ldd("\tnot a dynamic executable\n"), Ok(vec![]));
    }

    #[test]
    fn a_tree_is_walked_in_order_with_its_links_and_without_what_is_skipped() {
        let dir = std::env::temp_dir().join(format!("rootfs-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("b/__pycache__")).unwrap();
        std::fs::write(dir.join("b/z.py"), "z").unwrap();
        std::fs::write(dir.join("b/__pycache__/z.pyc"), "compiled").unwrap();
        std::fs::write(dir.join("a.js"), "a").unwrap();
        std::os::unix::fs::symlink("a.js", dir.join("c")).unwrap();
        let tree = HostTree {
            host: dir.clone(),
            installed_as: "/usr/lib/x".to_string(),
            package: "x".to_string(),
            skip: vec!["__pycache__".to_string()],
        };
        let walked = walk_tree(&tree).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let paths: Vec<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["/usr/lib/x/a.js", "/usr/lib/x/b/z.py", "/usr/lib/x/c"]
        );
        assert_eq!(
            walked[2].1,
            Entry::Symlink {
                target: "a.js".to_string()
            }
        );
        assert_eq!(host_path(&tree, "/usr/lib/x/b/z.py"), dir.join("b/z.py"));
    }

    #[test]
    fn elf_interpreter_is_detected() {
        let dash = std::fs::read("/bin/sh").ok();
        if let Some(bytes) = dash {
            assert_eq!(elf_has_interpreter(&bytes), Some(true));
        }
        assert_eq!(elf_has_interpreter(b"#!/bin/sh\n"), None);
    }
}
