//! Images on the real engine: bases are forged, variants built and labelled, and an unchanged
//! image is found by its content tag instead of being rebuilt. Needs a container engine.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use shutdown_harness::engine::LABEL_MANAGED;
use shutdown_harness::images::{
    BuildError, IMAGE_PREFIX, ServerBinary, build_static_server, ensure_variant_images,
};
use shutdown_harness::{Base, Engine, Variant};

use common::{engine, workspace};

/// The pairs built: every base, and the variants whose behaviour differs by base.
const WANTED: [(Variant, Base); 6] = [
    (Variant::ExecForm, Base::None),
    (Variant::ShellForm, Base::Dash),
    (Variant::ShellForm, Base::Bash),
    (Variant::ShellForm, Base::Busybox),
    (Variant::Tini, Base::None),
    (Variant::ScriptExec, Base::Busybox),
];

/// A cancellation that never comes.
fn never() -> tokio_util::sync::CancellationToken {
    tokio_util::sync::CancellationToken::new()
}

/// The image id of `tag`, after checking that it carries the managed label.
async fn identity(engine: &Engine, tag: &str) -> String {
    let image = engine
        .image(tag)
        .await
        .expect("the engine answers")
        .unwrap_or_else(|| panic!("{tag} is present"));
    assert_eq!(
        image.labels.get(LABEL_MANAGED).map(String::as_str),
        Some("true"),
        "{tag} is labelled"
    );
    image.id
}

async fn identities(engine: &Engine, tags: &HashMap<(Variant, Base), String>) -> Vec<String> {
    let mut ids = Vec::new();
    for (_, tag) in sorted(tags) {
        ids.push(identity(engine, &tag).await);
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
    let workspace = workspace();
    let server = build_static_server(&workspace)
        .await
        .expect("static server builds");
    let engine = engine().await;

    // A duplicate pair is built once.
    let mut wanted = WANTED.to_vec();
    wanted.push(WANTED[1]);
    let first = ensure_variant_images(&engine, &workspace, &server, &wanted, &|_| {}, &never())
        .await
        .expect("images build");
    assert_eq!(first.len(), WANTED.len());
    for ((variant, base), tag) in sorted(&first) {
        let prefix = format!("{IMAGE_PREFIX}/{variant}:{base}-");
        assert!(tag.starts_with(&prefix), "{tag} starts with {prefix}");
        // The stable name points at the latest build of the pair.
        let alias = format!("{IMAGE_PREFIX}/{variant}:{base}");
        assert_eq!(
            identity(&engine, &alias).await,
            identity(&engine, &tag).await,
            "{alias} is {tag}"
        );
    }
    let before = identities(&engine, &first).await;

    let built = std::sync::Mutex::new(0);
    let count = |event| {
        if let shutdown_harness::BuildEvent::ImageFinished { built: true, .. } = event {
            *built.lock().unwrap() += 1;
        }
    };
    let second = ensure_variant_images(&engine, &workspace, &server, &WANTED, &count, &never())
        .await
        .expect("cached images are found");
    assert_eq!(first, second, "the same content gives the same tags");
    assert_eq!(
        before,
        identities(&engine, &second).await,
        "nothing was rebuilt"
    );
    assert_eq!(*built.lock().unwrap(), 0, "every image came from the cache");
}

#[tokio::test]
async fn a_shell_variant_on_scratch_is_refused_before_building() {
    let engine = engine().await;
    // Never read: the pair is refused before anything is built.
    let server = ServerBinary {
        path: PathBuf::from("/nonexistent/server"),
        digest: "0".repeat(64),
        relay: PathBuf::from("/nonexistent/delay-relay"),
        generator: PathBuf::from("/nonexistent/load-generator"),
    };
    let wanted = [
        (Variant::ExecForm, Base::None),
        (Variant::ShellForm, Base::None),
    ];
    let err = ensure_variant_images(&engine, &workspace(), &server, &wanted, &|_| {}, &never())
        .await
        .expect_err("shell-form on scratch cannot run");
    assert!(matches!(err, BuildError::Impossible { .. }), "{err}");
    assert!(err.to_string().contains("pick a shell base"), "{err}");
}

#[tokio::test]
async fn an_unknown_image_is_absent_not_an_error() {
    let engine = engine().await;
    let present = engine
        .image("localhost/shutdown-harness/never-built:nothing")
        .await
        .expect("a 404 is an answer, not an error");
    assert!(present.is_none());
}
