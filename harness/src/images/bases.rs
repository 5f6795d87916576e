//! The base images: `FROM scratch` plus a shell copied from the host (dash or bash with their
//! libraries and loader, or a static busybox), each a [`RootfsImage`] recipe.

use std::collections::HashMap;
use std::path::PathBuf;

use super::error::BuildError;
use super::rootfs::{HostBinary, RootfsImage, forge};
use crate::engine::Engine;
use crate::model::variant::Base;

/// busybox applets linked into the busybox base besides `sh` (what scripts and variants call).
const BUSYBOX_APPLETS: [&str; 4] = ["sh", "sleep", "env", "cat"];
/// The image reference of [`Base::None`].
const SCRATCH: &str = "scratch";

/// A base ready to build on: what `FROM` names and the id that goes into cache keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BaseRef {
    /// `scratch`, or the forged base's tag.
    pub(super) reference: String,
    /// The image id (so a re-forged base changes the variant images' keys), or `scratch`.
    pub(super) id: String,
    /// Whether this call built it.
    pub(super) built: bool,
}

/// The recipe of `base`; None for [`Base::None`], which is `scratch`.
pub(super) fn recipe(base: Base) -> Option<RootfsImage> {
    let shell = |candidates: [&str; 2], package: &str, name: &str| HostBinary {
        candidates: candidates.map(PathBuf::from).to_vec(),
        package: package.to_string(),
        installed_as: vec!["/bin/sh".to_string(), format!("/bin/{name}")],
        is_static: false,
    };
    let (binary, symlinks) = match base {
        Base::Dash => (
            shell(["/bin/dash", "/usr/bin/dash"], "dash", "dash"),
            vec![],
        ),
        Base::Bash => (
            shell(["/bin/bash", "/usr/bin/bash"], "bash", "bash"),
            vec![],
        ),
        Base::Busybox => (
            HostBinary {
                candidates: ["/bin/busybox", "/usr/bin/busybox"]
                    .map(PathBuf::from)
                    .to_vec(),
                package: "busybox-static".to_string(),
                installed_as: vec!["/bin/busybox".to_string()],
                is_static: true,
            },
            BUSYBOX_APPLETS
                .iter()
                .map(|applet| (format!("/bin/{applet}"), "busybox".to_string()))
                .collect(),
        ),
        Base::None => return None,
    };
    Some(RootfsImage {
        repository: "base".to_string(),
        flavour: Some(base.name().to_string()),
        binaries: vec![binary],
        trees: Vec::new(),
        symlinks,
        files: Vec::new(),
        instructions: Vec::new(),
        labels: HashMap::from([("shutdown-harness.base".to_string(), base.name().to_string())]),
    })
}

/// Forges `base` unless an up-to-date one exists.
pub(super) async fn forge_base(engine: &Engine, base: Base) -> Result<BaseRef, BuildError> {
    let Some(recipe) = recipe(base) else {
        return Ok(BaseRef {
            reference: SCRATCH.to_string(),
            id: SCRATCH.to_string(),
            built: false,
        });
    };
    let forged = forge(engine, &recipe).await?;
    let id = engine.require_image(&forged.tag).await?.id;
    Ok(BaseRef {
        reference: forged.tag,
        id,
        built: forged.built,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_needs_no_recipe() {
        assert!(recipe(Base::None).is_none());
        let busybox = recipe(Base::Busybox).unwrap();
        assert!(busybox.binaries[0].is_static);
        assert!(busybox.symlinks.iter().any(|(path, _)| path == "/bin/sh"));
        let dash = recipe(Base::Dash).unwrap();
        assert_eq!(dash.binaries[0].installed_as, ["/bin/sh", "/bin/dash"]);
    }
}
