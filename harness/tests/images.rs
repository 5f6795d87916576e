//! Images on the real engine: bases are forged, variants built and labelled, and an unchanged
//! image is found by its content tag instead of being rebuilt. Needs a Docker engine.

use std::collections::HashMap;
use std::path::PathBuf;

use bollard::Docker;
use shutdown_harness::docker::{LABEL_MANAGED, connect};
use shutdown_harness::images::{ensure_images, image_present};
use shutdown_harness::server_build::{ServerBinary, build_static_server, workspace_root};
use shutdown_harness::{Base, Error, Variant};

/// The pairs built: every base, and the variants whose behaviour differs by base.
const WANTED: [(Variant, Base); 6] = [
    (Variant::ExecForm, Base::None),
    (Variant::ShellForm, Base::Dash),
    (Variant::ShellForm, Base::Bash),
    (Variant::ShellForm, Base::Busybox),
    (Variant::Tini, Base::None),
    (Variant::ScriptExec, Base::Busybox),
];

/// What identifies one build of an image: its ID and creation time.
async fn identity(docker: &Docker, tag: &str) -> (String, String) {
    let image = docker
        .inspect_image(tag)
        .await
        .expect("built image is present");
    let labels = image
        .config
        .as_ref()
        .and_then(|c| c.labels.clone())
        .unwrap_or_default();
    assert_eq!(
        labels.get(LABEL_MANAGED).map(String::as_str),
        Some("true"),
        "{tag} is labelled"
    );
    (image.id.unwrap_or_default(), format!("{:?}", image.created))
}

async fn identities(
    docker: &Docker,
    tags: &HashMap<(Variant, Base), String>,
) -> Vec<(String, String)> {
    let mut ids = Vec::new();
    for (_, tag) in sorted(tags) {
        ids.push(identity(docker, &tag).await);
    }
    ids
}

fn sorted(tags: &HashMap<(Variant, Base), String>) -> Vec<((Variant, Base), String)> {
    let mut pairs: Vec<_> = tags.iter().map(|(k, v)| (*k, v.clone())).collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn images_are_built_once_and_then_reused() {
    let workspace = workspace_root();
    let server = build_static_server(&workspace)
        .await
        .expect("static server builds");
    let docker = connect().await.expect("Docker engine answers");

    // A duplicate pair is built once.
    let mut wanted = WANTED.to_vec();
    wanted.push(WANTED[1]);
    let first = ensure_images(&docker, &workspace, &server, &wanted)
        .await
        .expect("images build");
    assert_eq!(first.len(), WANTED.len());
    for ((variant, base), tag) in sorted(&first) {
        let prefix = format!("shutdown-harness/{variant}:{base}-");
        assert!(tag.starts_with(&prefix), "{tag} starts with {prefix}");
        assert!(image_present(&docker, &tag).await.unwrap(), "{tag} exists");
        // The stable name points at the latest build of the pair.
        let alias = format!("shutdown-harness/{variant}:{base}");
        assert_eq!(
            identity(&docker, &alias).await.0,
            identity(&docker, &tag).await.0,
            "{alias} is {tag}"
        );
    }
    let before = identities(&docker, &first).await;

    let second = ensure_images(&docker, &workspace, &server, &WANTED)
        .await
        .expect("cached images are found");
    assert_eq!(first, second, "the same content gives the same tags");
    assert_eq!(
        before,
        identities(&docker, &second).await,
        "nothing was rebuilt"
    );
}

#[tokio::test]
async fn a_shell_variant_on_scratch_is_refused_before_building() {
    let docker = connect().await.expect("Docker engine answers");
    // Never read: the pair is refused before anything is built.
    let server = ServerBinary {
        path: PathBuf::from("/nonexistent/server"),
        digest: "0".repeat(64),
    };
    let wanted = [
        (Variant::ExecForm, Base::None),
        (Variant::ShellForm, Base::None),
    ];
    let err = ensure_images(&docker, &workspace_root(), &server, &wanted)
        .await
        .expect_err("shell-form on scratch cannot run");
    assert!(matches!(err, Error::BuildImage { .. }), "{err}");
    assert!(err.to_string().contains("pick a shell base"), "{err}");
}

#[tokio::test]
async fn image_present_is_false_for_an_unknown_image() {
    let docker = connect().await.expect("Docker engine answers");
    let present = image_present(&docker, "shutdown-harness/never-built:nothing")
        .await
        .expect("a 404 is an answer, not an error");
    assert!(!present);
}
