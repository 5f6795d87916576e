//! Forging base images from host binaries, since nothing can be pulled.
//!
//! A base is `FROM scratch` plus a shell copied from the host with everything it needs to run:
//! dash or bash with their shared libraries and the dynamic loader, or a static busybox.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use bollard::Docker;
use tokio::process::Command;

use crate::error::{Error, Result};
use crate::images::{BuildContext, build_image, image_present, read_host_file, short_digest};
use crate::variant::Base;

/// The Dockerfile of every base: the forged root filesystem on top of nothing.
const BASE_DOCKERFILE: &str = "FROM scratch\nCOPY rootfs/ /\n";
/// The image reference of [`Base::None`].
const SCRATCH: &str = "scratch";
/// busybox applets linked into the busybox base besides `sh` (what scripts and variants call).
const BUSYBOX_APPLETS: [&str; 4] = ["sh", "sleep", "env", "cat"];

/// Returns the image reference of `base`, forging it first unless an up-to-date one exists.
/// `Base::None` is `scratch`.
///
/// The tag is `shutdown-harness/base:<name>-<12 hex of the build context's sha256>`, so a base
/// is rebuilt only when the host's files change.
pub async fn forge_base(docker: &Docker, base: Base) -> Result<String> {
    let Some(recipe) = Recipe::of(base) else {
        return Ok(SCRATCH.to_string());
    };
    let rootfs = recipe.rootfs().await?;
    let context = base_context(&rootfs)?;
    let tag = format!(
        "shutdown-harness/base:{}-{}",
        base.name(),
        short_digest(&context)
    );
    if !image_present(docker, &tag).await? {
        let labels =
            HashMap::from([("shutdown-harness.base".to_string(), base.name().to_string())]);
        build_image(docker, &tag, context, HashMap::new(), labels).await?;
    }
    Ok(tag)
}

/// One entry of a forged root filesystem, keyed by its absolute path inside the image.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A regular file: the real bytes (symlinks on the host followed) and mode.
    File { bytes: Vec<u8>, mode: u32 },
    /// A symbolic link to `target`.
    Symlink { target: String },
}

/// How to forge one base from host files.
struct Recipe {
    base: Base,
    /// Where the host binary may be, in order of preference.
    candidates: &'static [&'static str],
    /// The Debian package that provides it.
    package: &'static str,
    /// The paths inside the image that are copies of the binary.
    installed_as: &'static [&'static str],
    /// Whether the binary must be static (busybox: no libraries are copied).
    must_be_static: bool,
}

impl Recipe {
    fn of(base: Base) -> Option<Recipe> {
        let recipe = match base {
            Base::Dash => Recipe {
                base,
                candidates: &["/bin/dash", "/usr/bin/dash"],
                package: "dash",
                installed_as: &["/bin/sh", "/bin/dash"],
                must_be_static: false,
            },
            Base::Bash => Recipe {
                base,
                candidates: &["/bin/bash", "/usr/bin/bash"],
                package: "bash",
                installed_as: &["/bin/sh", "/bin/bash"],
                must_be_static: false,
            },
            Base::Busybox => Recipe {
                base,
                candidates: &["/bin/busybox", "/usr/bin/busybox"],
                package: "busybox-static",
                installed_as: &["/bin/busybox"],
                must_be_static: true,
            },
            Base::None => return None,
        };
        Some(recipe)
    }

    /// The root filesystem: the binary, its libraries and (for busybox) applet links.
    async fn rootfs(&self) -> Result<BTreeMap<String, Entry>> {
        let binary = self.host_binary()?;
        let (bytes, mode) = read_real_file(&binary).await?;
        let mut rootfs = BTreeMap::new();
        if self.must_be_static {
            self.check_static(&binary, &bytes)?;
            for applet in BUSYBOX_APPLETS {
                let target = "busybox".to_string();
                rootfs.insert(format!("/bin/{applet}"), Entry::Symlink { target });
            }
        } else {
            for library in self.libraries(&binary).await? {
                let (bytes, mode) = read_real_file(&library).await?;
                rootfs.insert(path_string(&library), Entry::File { bytes, mode });
            }
        }
        for path in self.installed_as {
            let entry = Entry::File {
                bytes: bytes.clone(),
                mode,
            };
            rootfs.insert((*path).to_string(), entry);
        }
        Ok(rootfs)
    }

    /// The first candidate path that exists on the host.
    fn host_binary(&self) -> Result<PathBuf> {
        self.candidates
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_file())
            .ok_or_else(|| Error::ForgeBaseMissingBinary {
                base: self.base.name(),
                path: PathBuf::from(self.candidates[0]),
                package: self.package,
            })
    }

    /// Refuses a dynamically linked binary: it would not run without its libraries.
    fn check_static(&self, binary: &Path, bytes: &[u8]) -> Result<()> {
        match elf_has_interpreter(bytes) {
            Some(false) => Ok(()),
            Some(true) => Err(self.error(format!(
                "{} is dynamically linked: install the static build with `apt-get install {}`",
                binary.display(),
                self.package
            ))),
            None => Err(self.error(format!(
                "{} is not an x86-64 ELF executable",
                binary.display()
            ))),
        }
    }

    /// The shared libraries (and the dynamic loader) of `binary`, as `ldd` resolves them.
    async fn libraries(&self, binary: &Path) -> Result<Vec<PathBuf>> {
        ldd_libraries(binary)
            .await
            .map_err(|reason| self.error(reason))
    }

    fn error(&self, reason: String) -> Error {
        Error::ForgeBase {
            base: self.base.name(),
            reason,
        }
    }
}

/// The build context of a base: the fixed Dockerfile and `rootfs/` holding the entries.
fn base_context(rootfs: &BTreeMap<String, Entry>) -> Result<Vec<u8>> {
    rootfs_context(BASE_DOCKERFILE, rootfs)
}

/// A build context of `dockerfile` plus `rootfs/` holding the entries.
fn rootfs_context(dockerfile: &str, rootfs: &BTreeMap<String, Entry>) -> Result<Vec<u8>> {
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
/// says why they cannot be known.
async fn ldd_libraries(binary: &Path) -> Result<Vec<PathBuf>, String> {
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
    if libraries.is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "ldd found no libraries for {}: {}",
            binary.display(),
            stderr.trim()
        ));
    }
    Ok(libraries)
}

/// A host binary copied into a forged image, with the libraries it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostBinary {
    /// Where the binary may be on the host, in order of preference.
    pub candidates: Vec<PathBuf>,
    /// The Debian package that provides it (named in the error when it is missing).
    pub package: &'static str,
    /// The paths inside the image that are copies of it.
    pub installed_as: Vec<String>,
    /// Static (nothing else is copied) rather than dynamically linked (its `ldd` libraries are).
    pub is_static: bool,
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

/// An image forged from host binaries and generated files, `FROM scratch`: what a real server
/// the project did not write needs to run, since its upstream image cannot be pulled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootfsImage {
    /// The name in errors and the image repository: `shutdown-harness/<name>`.
    pub name: &'static str,
    /// The binaries, each with its libraries.
    pub binaries: Vec<HostBinary>,
    /// Symbolic links, as (path inside the image, target): busybox applets for example.
    pub symlinks: Vec<(String, String)>,
    /// The generated files.
    pub files: Vec<GeneratedFile>,
    /// Dockerfile instructions after the root filesystem is copied (`ENTRYPOINT [...]`, `EXPOSE`).
    pub instructions: Vec<String>,
}

/// Returns the tag of the image `spec` describes, building it unless an up-to-date one exists.
///
/// The tag is `shutdown-harness/<name>:<12 hex of the build context's sha256>`, so the image is
/// rebuilt only when the host's files or the spec change. A missing host binary is
/// [`Error::ForgeBaseMissingBinary`] naming its package.
pub async fn forge_rootfs_image(docker: &Docker, spec: &RootfsImage) -> Result<String> {
    let failed = |reason: String| Error::ForgeBase {
        base: spec.name,
        reason,
    };
    let mut rootfs = BTreeMap::new();
    for binary in &spec.binaries {
        let host = binary
            .candidates
            .iter()
            .find(|path| path.is_file())
            .ok_or_else(|| Error::ForgeBaseMissingBinary {
                base: spec.name,
                path: binary.candidates.first().cloned().unwrap_or_default(),
                package: binary.package,
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
                for library in ldd_libraries(host).await.map_err(failed)? {
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
    let mut dockerfile = BASE_DOCKERFILE.to_string();
    for instruction in &spec.instructions {
        dockerfile.push_str(instruction);
        dockerfile.push('\n');
    }
    let context = rootfs_context(&dockerfile, &rootfs)?;
    let tag = format!("shutdown-harness/{}:{}", spec.name, short_digest(&context));
    if !image_present(docker, &tag).await? {
        let labels = HashMap::from([(
            "shutdown-harness.third-party".to_string(),
            spec.name.to_string(),
        )]);
        build_image(docker, &tag, context, HashMap::new(), labels).await?;
    }
    Ok(tag)
}

/// Reads a host file's bytes and permission bits, following symlinks to the real file.
async fn read_real_file(path: &Path) -> Result<(Vec<u8>, u32)> {
    let bytes = read_host_file(path).await?;
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|source| Error::Io {
            operation: format!("reading the metadata of {}", path.display()),
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
        let p_type = u32::from_le_bytes(elf.get(start..start + 4)?.try_into().ok()?);
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
    fn elf_interpreter_is_detected() {
        let dash = std::fs::read("/bin/sh").ok();
        if let Some(bytes) = dash {
            assert_eq!(elf_has_interpreter(&bytes), Some(true));
        }
        assert_eq!(elf_has_interpreter(b"#!/bin/sh\n"), None);
    }

    #[test]
    fn scratch_needs_no_recipe() {
        assert!(Recipe::of(Base::None).is_none());
        assert!(Recipe::of(Base::Busybox).is_some_and(|r| r.must_be_static));
    }
}
