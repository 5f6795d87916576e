//! The variant images: the static server on a base with one variant Dockerfile, tagged by
//! content so that an unchanged image is never rebuilt.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use futures_util::{StreamExt, TryStreamExt, stream};
use tokio_util::sync::CancellationToken;

use super::IMAGE_PREFIX;
use super::bases::{BaseRef, forge_base};
use super::context::{BuildContext, ContentKey};
use super::error::{BuildError, read_host_file};
use super::server_binary::ServerBinary;
use crate::engine::Engine;
use crate::model::events::BuildEvent;
use crate::model::variant::{Base, Variant};
use crate::workspace::Workspace;

/// How many images are built at once: builds are CPU-bound and the machines have 2 cores.
const BUILD_CONCURRENCY: usize = 2;
/// Where tini-static lives on a Debian host (package `tini`).
const HOST_TINI: &str = "/usr/bin/tini-static";

/// The tag of each variant image, by (variant, base).
pub type VariantImages = HashMap<(Variant, Base), String>;

/// Builds (or finds in the cache) the image of each `(variant, base)` pair, once each, and
/// points the stable name `localhost/shutdown-harness/<variant>:<base>` at it.
///
/// Each distinct base is forged once; images are built two at a time. A pair whose variant
/// needs `/bin/sh` on [`Base::None`] is refused before anything is built. `progress` hears of
/// each image as it starts and ends. Once `cancel` is cancelled no build starts, and the ones
/// under way finish (a build cut short leaves the builder's containers behind).
pub async fn ensure_variant_images(
    engine: &Engine,
    workspace: &Workspace,
    server: &ServerBinary,
    wanted: &[(Variant, Base)],
    progress: &(dyn Fn(BuildEvent) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<VariantImages, BuildError> {
    let pairs: BTreeSet<(Variant, Base)> = wanted.iter().copied().collect();
    pairs.iter().try_for_each(|&(v, b)| check_pair(v, b))?;
    let mut bases = HashMap::new();
    for base in pairs.iter().map(|&(_, b)| b).collect::<BTreeSet<_>>() {
        if cancel.is_cancelled() {
            return Err(BuildError::Interrupted);
        }
        let name = format!("base:{base}");
        progress(BuildEvent::ImageStarted { name: name.clone() });
        let forged = forge_base(engine, base).await?;
        progress(BuildEvent::ImageFinished {
            name,
            built: forged.built,
        });
        bases.insert(base, forged);
    }
    let server_bytes = read_host_file(&server.path).await?;
    let mut plans = Vec::with_capacity(pairs.len());
    for &(variant, base) in &pairs {
        let plan = plan_image(
            workspace,
            server,
            &server_bytes,
            (variant, base),
            &bases[&base],
        )
        .await?;
        plans.push(((variant, base), plan));
    }
    stream::iter(plans)
        .map(|(pair, plan)| async move {
            if cancel.is_cancelled() {
                return Err(BuildError::Interrupted);
            }
            let name = format!("{}:{}", pair.0, pair.1);
            progress(BuildEvent::ImageStarted { name: name.clone() });
            let (tag, built) = ensure_planned(engine, plan, pair).await?;
            progress(BuildEvent::ImageFinished { name, built });
            Ok::<_, BuildError>((pair, tag))
        })
        .buffer_unordered(BUILD_CONCURRENCY)
        .try_collect()
        .await
}

/// An image ready to build: its content tag and its build context.
struct ImagePlan {
    tag: String,
    base_ref: String,
    context: Vec<u8>,
}

/// Refuses pairs that cannot work: a shell-using variant on a base without a shell.
fn check_pair(variant: Variant, base: Base) -> Result<(), BuildError> {
    if variant.needs_shell() && !base.has_shell() {
        return Err(BuildError::Impossible {
            image: format!("{IMAGE_PREFIX}/{variant}:{base}"),
            reason: format!(
                "variant `{variant}` runs /bin/sh, which base `{base}` (FROM scratch) does not have: \
                 pick a shell base (dash, bash or busybox) or a variant without a shell (exec-form, tini)"
            ),
        });
    }
    Ok(())
}

/// Gathers the Dockerfile and extra files of `variant`, and derives the content tag.
async fn plan_image(
    workspace: &Workspace,
    server: &ServerBinary,
    server_bytes: &[u8],
    (variant, base): (Variant, Base),
    base_ref: &BaseRef,
) -> Result<ImagePlan, BuildError> {
    let dockerfiles = workspace.dockerfiles();
    let dockerfile = read_host_file(&dockerfiles.join(variant.dockerfile())).await?;
    let extras = extra_files(&dockerfiles, variant).await?;
    let context_failed = |e: std::io::Error| BuildError::Forge {
        image: format!("{variant}:{base}"),
        reason: format!("assembling the build context: {e}"),
    };

    let mut key = ContentKey::new();
    for part in [
        server.digest.as_bytes(),
        &dockerfile,
        base_ref.id.as_bytes(),
    ] {
        key.add(part);
    }
    let mut context = BuildContext::new();
    context
        .add_file("Dockerfile", &dockerfile, 0o644)
        .map_err(context_failed)?;
    context
        .add_file("server", server_bytes, 0o755)
        .map_err(context_failed)?;
    for (name, bytes) in &extras {
        key.add(name.as_bytes());
        key.add(bytes);
        context
            .add_file(name, bytes, 0o755)
            .map_err(context_failed)?;
    }
    Ok(ImagePlan {
        tag: format!("{IMAGE_PREFIX}/{variant}:{base}-{}", key.short()),
        base_ref: base_ref.reference.clone(),
        context: context.finish().map_err(context_failed)?,
    })
}

/// The files besides the server that `variant`'s Dockerfile copies, as (context name, bytes).
async fn extra_files(
    dockerfiles: &Path,
    variant: Variant,
) -> Result<Vec<(String, Vec<u8>)>, BuildError> {
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
fn host_tini() -> Result<PathBuf, BuildError> {
    let path = PathBuf::from(HOST_TINI);
    if path.is_file() {
        return Ok(path);
    }
    Err(BuildError::HostBinaryMissing {
        image: "tini".to_string(),
        path,
        package: "tini".to_string(),
    })
}

/// Builds the planned image unless its tag already exists, then points the stable name at it;
/// returns the tag and whether it was built now.
async fn ensure_planned(
    engine: &Engine,
    plan: ImagePlan,
    (variant, base): (Variant, Base),
) -> Result<(String, bool), BuildError> {
    let mut built = false;
    if engine.image(&plan.tag).await?.is_none() {
        // The base must still be here: were it gone, the builder would try to pull its name.
        if base != Base::None {
            engine.require_image(&plan.base_ref).await?;
        }
        let labels = HashMap::from([
            (
                "shutdown-harness.variant".to_string(),
                variant.name().to_string(),
            ),
            ("shutdown-harness.base".to_string(), base.name().to_string()),
        ]);
        let build_args = HashMap::from([("BASE".to_string(), plan.base_ref.clone())]);
        engine
            .build_image(&plan.tag, plan.context, build_args, labels)
            .await?;
        built = true;
    }
    // The stable name lets people `check` or `explain` the latest build without its hash.
    engine
        .tag_image(&plan.tag, &format!("{IMAGE_PREFIX}/{variant}"), base.name())
        .await?;
    Ok((plan.tag, built))
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
    fn every_variant_has_a_dockerfile() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let workspace = Workspace::find_from(here).unwrap();
        for variant in Variant::ALL {
            let text = std::fs::read_to_string(workspace.dockerfiles().join(variant.dockerfile()))
                .unwrap();
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
