//! Building variant images, tagged by their content so an unchanged image is never rebuilt.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::query_parameters::{BuildImageOptions, BuilderVersion, TagImageOptions};
use futures_util::{StreamExt, TryStreamExt, stream};
use sha2::{Digest, Sha256};

use crate::docker::LABEL_MANAGED;
use crate::error::{Error, Result};
use crate::forge::forge_base;
use crate::server_build::ServerBinary;
use crate::variant::{Base, Variant};

/// How many images are built at once: builds are CPU-bound and the machines have 2 cores.
const BUILD_CONCURRENCY: usize = 2;
/// How many hex digits of the content digest go into a tag.
const TAG_DIGEST_LEN: usize = 12;
/// Where tini-static lives on a Debian host (package `tini`).
const HOST_TINI: &str = "/usr/bin/tini-static";
/// Label naming the variant of a built image (for `docker images --filter`).
const LABEL_VARIANT: &str = "shutdown-harness.variant";
/// Label naming the base of a built image.
const LABEL_BASE: &str = "shutdown-harness.base";

/// Builds (or finds in the cache) the image of each `(variant, base)` pair, at most once each;
/// returns the image tag of each pair.
///
/// Each distinct base is forged once; images are built two at a time. A pair whose variant needs
/// `/bin/sh` on [`Base::None`] is refused before anything is built.
pub async fn ensure_images(
    docker: &Docker,
    workspace: &Path,
    server: &ServerBinary,
    wanted: &[(Variant, Base)],
) -> Result<HashMap<(Variant, Base), String>> {
    let pairs: BTreeSet<(Variant, Base)> = wanted.iter().copied().collect();
    pairs.iter().try_for_each(|&(v, b)| check_pair(v, b))?;
    let bases = forge_bases(docker, pairs.iter().map(|&(_, b)| b)).await?;
    let server_bytes = read_host_file(&server.path).await?;
    let mut plans = Vec::with_capacity(pairs.len());
    for &(variant, base) in &pairs {
        let plan = plan_image(workspace, server, &server_bytes, variant, &bases[&base]).await?;
        plans.push(((variant, base), plan));
    }
    stream::iter(plans)
        .map(|(pair, plan)| async move {
            let tag = ensure_planned(docker, plan, pair).await?;
            Ok::<_, Error>((pair, tag))
        })
        .buffer_unordered(BUILD_CONCURRENCY)
        .try_collect()
        .await
}

/// Whether `image` (a tag or an ID) is present in the local engine; a 404 is `false`.
pub async fn image_present(docker: &Docker, image: &str) -> Result<bool> {
    match crate::docker::inspect_image(docker, image).await {
        Ok(_) => Ok(true),
        Err(Error::ImageMissing { .. }) => Ok(false),
        Err(error) => Err(error),
    }
}

/// A forged (or `scratch`) base: what `FROM` names and the ID that goes into cache keys.
#[derive(Debug, Clone)]
struct BaseRef {
    name: &'static str,
    reference: String,
    id: String,
}

/// An image ready to build: its content tag and its build context.
struct ImagePlan {
    tag: String,
    base_ref: String,
    context: Vec<u8>,
}

/// Refuses pairs that cannot work: a shell-using variant on a base without a shell.
fn check_pair(variant: Variant, base: Base) -> Result<()> {
    if variant.needs_shell() && !base.has_shell() {
        return Err(Error::BuildImage {
            tag: format!("shutdown-harness/{variant}:{base}"),
            reason: format!(
                "variant `{variant}` runs /bin/sh, which base `{base}` (FROM scratch) does not have: \
                 pick a shell base (dash, bash or busybox) or a variant without a shell (exec-form, tini)"
            ),
        });
    }
    Ok(())
}

/// Forges each distinct base once, sequentially (they share host files and are quick).
async fn forge_bases(
    docker: &Docker,
    bases: impl Iterator<Item = Base>,
) -> Result<HashMap<Base, BaseRef>> {
    let mut forged = HashMap::new();
    for base in bases.collect::<BTreeSet<_>>() {
        let reference = forge_base(docker, base).await?;
        let id = base_id(docker, &reference).await?;
        forged.insert(
            base,
            BaseRef {
                name: base.name(),
                reference,
                id,
            },
        );
    }
    Ok(forged)
}

/// The image ID of a base, so a re-forged base changes the variant images' keys.
async fn base_id(docker: &Docker, reference: &str) -> Result<String> {
    if reference == "scratch" {
        return Ok(reference.to_string());
    }
    let inspect = docker
        .inspect_image(reference)
        .await
        .map_err(|source| Error::Docker {
            operation: "inspect base image",
            source,
        })?;
    Ok(inspect.id.unwrap_or_else(|| reference.to_string()))
}

/// Gathers the Dockerfile and extra files of `variant`, and derives the content tag.
async fn plan_image(
    workspace: &Path,
    server: &ServerBinary,
    server_bytes: &[u8],
    variant: Variant,
    base: &BaseRef,
) -> Result<ImagePlan> {
    let dockerfiles = workspace.join("Dockerfiles");
    let dockerfile = read_host_file(&dockerfiles.join(variant.dockerfile())).await?;
    let extras = extra_files(&dockerfiles, variant).await?;

    let mut key = Sha256::new();
    for part in [server.digest.as_bytes(), &dockerfile, base.id.as_bytes()] {
        hash_part(&mut key, part);
    }
    let mut context = BuildContext::new();
    context.add_file("Dockerfile", &dockerfile, 0o644)?;
    context.add_file("server", server_bytes, 0o755)?;
    for (name, bytes) in &extras {
        hash_part(&mut key, name.as_bytes());
        hash_part(&mut key, bytes);
        context.add_file(name, bytes, 0o755)?;
    }
    let digest = hex::encode(key.finalize());
    Ok(ImagePlan {
        tag: format!(
            "shutdown-harness/{variant}:{}-{}",
            base.name,
            &digest[..TAG_DIGEST_LEN]
        ),
        base_ref: base.reference.clone(),
        context: context.finish()?,
    })
}

/// Feeds one length-prefixed part into a cache key, so parts cannot run into each other.
fn hash_part(key: &mut Sha256, part: &[u8]) {
    key.update((part.len() as u64).to_le_bytes());
    key.update(part);
}

/// The files besides the server that `variant`'s Dockerfile copies, as (context name, bytes).
async fn extra_files(dockerfiles: &Path, variant: Variant) -> Result<Vec<(String, Vec<u8>)>> {
    let (name, host_path) = match variant {
        Variant::ScriptNoExec => (
            "entrypoint-no-exec.sh",
            dockerfiles.join("entrypoint-no-exec.sh"),
        ),
        Variant::ScriptExec => ("entrypoint-exec.sh", dockerfiles.join("entrypoint-exec.sh")),
        Variant::Tini => ("tini", host_tini()?),
        _ => return Ok(Vec::new()),
    };
    Ok(vec![(name.to_string(), read_host_file(&host_path).await?)])
}

/// The host's tini-static, which the tini variant copies in (nothing can be pulled).
fn host_tini() -> Result<PathBuf> {
    let path = PathBuf::from(HOST_TINI);
    if path.is_file() {
        return Ok(path);
    }
    Err(Error::ForgeBaseMissingBinary {
        base: "tini",
        path,
        package: "tini",
    })
}

/// Builds the planned image unless its tag already exists; returns the tag.
async fn ensure_planned(
    docker: &Docker,
    plan: ImagePlan,
    (variant, base): (Variant, Base),
) -> Result<String> {
    if !image_present(docker, &plan.tag).await? {
        let labels = HashMap::from([
            (LABEL_VARIANT.to_string(), variant.name().to_string()),
            (LABEL_BASE.to_string(), base.name().to_string()),
        ]);
        let build_args = HashMap::from([("BASE".to_string(), plan.base_ref.clone())]);
        build_image(docker, &plan.tag, plan.context, build_args, labels).await?;
    }
    alias(docker, &plan.tag, variant, base).await?;
    Ok(plan.tag)
}

/// Points the stable name `shutdown-harness/<variant>:<base>` at the content-tagged image, so
/// people can `check` or `explain` the latest build without knowing its hash.
async fn alias(docker: &Docker, tag: &str, variant: Variant, base: Base) -> Result<()> {
    let options = TagImageOptions {
        repo: Some(format!("shutdown-harness/{variant}")),
        tag: Some(base.name().to_string()),
    };
    docker
        .tag_image(tag, Some(options))
        .await
        .map_err(|source| Error::Docker {
            operation: "tag image",
            source,
        })
}

/// Reads a host file, naming it in the error.
pub(crate) async fn read_host_file(path: &Path) -> Result<Vec<u8>> {
    tokio::fs::read(path).await.map_err(|source| Error::Io {
        operation: format!("reading {}", path.display()),
        source,
    })
}

/// An in-memory, reproducible tar build context: fixed owner and mtime, so equal content gives
/// equal bytes (and so equal cache keys).
pub(crate) struct BuildContext {
    tar: tar::Builder<Vec<u8>>,
}

impl BuildContext {
    /// An empty context.
    pub(crate) fn new() -> Self {
        Self {
            tar: tar::Builder::new(Vec::new()),
        }
    }

    /// Adds a regular file at `path` (relative to the context root) with `mode`.
    pub(crate) fn add_file(&mut self, path: &str, bytes: &[u8], mode: u32) -> Result<()> {
        let mut header = Self::header(tar::EntryType::Regular, mode);
        header.set_size(bytes.len() as u64);
        self.tar
            .append_data(&mut header, path, bytes)
            .map_err(|source| context_error(path, source))
    }

    /// Adds a symbolic link at `path` pointing at `target`.
    pub(crate) fn add_symlink(&mut self, path: &str, target: &str) -> Result<()> {
        let mut header = Self::header(tar::EntryType::Symlink, 0o777);
        header.set_size(0);
        self.tar
            .append_link(&mut header, path, target)
            .map_err(|source| context_error(path, source))
    }

    /// The finished tar bytes.
    pub(crate) fn finish(self) -> Result<Vec<u8>> {
        self.tar
            .into_inner()
            .map_err(|source| context_error("<end of archive>", source))
    }

    fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header
    }
}

fn context_error(path: &str, source: std::io::Error) -> Error {
    Error::Io {
        operation: format!("adding {path} to an image build context"),
        source,
    }
}

/// The first hex digits of the sha256 of `bytes`, as used in content tags.
pub(crate) fn short_digest(bytes: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(bytes));
    digest[..TAG_DIGEST_LEN].to_string()
}

/// Builds `context` (whose Dockerfile is `Dockerfile`) as `tag` with the classic builder.
///
/// Never pulls: every `FROM` names `scratch` or an image forged locally. The image carries the
/// managed label (plus `labels`); intermediate containers are always removed.
pub(crate) async fn build_image(
    docker: &Docker,
    tag: &str,
    context: Vec<u8>,
    build_args: HashMap<String, String>,
    mut labels: HashMap<String, String>,
) -> Result<()> {
    labels.insert(LABEL_MANAGED.to_string(), "true".to_string());
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".to_string(),
        t: Some(tag.to_string()),
        pull: None,
        rm: true,
        forcerm: true,
        buildargs: Some(build_args),
        labels: Some(labels),
        version: BuilderVersion::BuilderV1,
        ..Default::default()
    };
    let body = bollard::body_full(bytes::Bytes::from(context));
    let mut progress = docker.build_image(options, None, Some(body));
    let mut log = String::new();
    while let Some(item) = progress.next().await {
        match item {
            Ok(info) => log.push_str(info.stream.as_deref().unwrap_or_default()),
            Err(e) => return Err(build_failed(tag, &e.to_string(), &log)),
        }
    }
    // The classic builder reports some failures only by not tagging; check the result exists.
    if image_present(docker, tag).await? {
        Ok(())
    } else {
        Err(build_failed(
            tag,
            "the engine finished without producing the image",
            &log,
        ))
    }
}

fn build_failed(tag: &str, message: &str, log: &str) -> Error {
    let tail: Vec<&str> = log.lines().rev().take(10).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Error::BuildImage {
        tag: tag.to_string(),
        reason: format!("{message}\nlast build output:\n{}", tail.join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_variants_are_refused_on_scratch() {
        let err = check_pair(Variant::ShellForm, Base::None).unwrap_err();
        assert!(err.to_string().contains("pick a shell base"), "{err}");
        assert!(check_pair(Variant::ExecForm, Base::None).is_ok());
        assert!(check_pair(Variant::Tini, Base::None).is_ok());
        assert!(check_pair(Variant::ShellForm, Base::Dash).is_ok());
    }

    #[test]
    fn equal_content_gives_equal_context_bytes() {
        let make = || {
            let mut context = BuildContext::new();
            context
                .add_file("Dockerfile", b"FROM scratch\n", 0o644)
                .unwrap();
            context.add_symlink("rootfs/bin/sh", "busybox").unwrap();
            context.finish().unwrap()
        };
        assert_eq!(make(), make());
        assert_eq!(short_digest(&make()).len(), TAG_DIGEST_LEN);
    }

    #[test]
    fn every_variant_has_a_dockerfile() {
        let dir = crate::server_build::workspace_root().join("Dockerfiles");
        for variant in Variant::ALL {
            let text = std::fs::read_to_string(dir.join(variant.dockerfile())).unwrap();
            assert!(text.starts_with("# "), "{variant}: opens with a comment");
            assert!(
                text.contains("ARG BASE=scratch\nFROM ${BASE}\n"),
                "{variant}: takes ARG BASE"
            );
            assert!(
                text.contains("COPY server /usr/local/bin/server"),
                "{variant}"
            );
            assert!(text.contains("EXPOSE 1202"), "{variant}");
            assert!(
                !text.contains("syntax="),
                "{variant}: no syntax line (nothing can be pulled)"
            );
        }
    }
}
