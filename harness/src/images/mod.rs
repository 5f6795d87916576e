//! The images stage: the static server binary, bases forged from host files, the variant images
//! built on them, and images of real servers and runtimes the project did not write. Nothing is
//! ever pulled.

mod bases;
mod context;
mod error;
mod generator;
mod rootfs;
mod runtimes;
mod server_binary;
mod variants;

pub use error::BuildError;
pub use generator::generator_image;
pub use rootfs::{Forged, GeneratedFile, HostBinary, HostTree, RootfsImage, forge};
pub(crate) use runtimes::third_party_label;
pub use runtimes::{
    BIG_FILE_LEN, BUSYBOX_CGI_SLEEP_S, BUSYBOX_SLOW_PATH, H2C_EVENTS, HTTP_PORT, NGINX_EVENTS_PATH,
    NGINX_RATE_PER_S, NGINX_SLOW_PATH, RuntimeImage, busybox_httpd_image, nginx_image,
    runtime_image,
};
pub use server_binary::{STATIC_BUILD_COMMAND, ServerBinary, build_static_server};
pub use variants::{VariantImages, ensure_variant_images};

/// Builds the static server and the images of `pairs` (or finds them in the cache): the two
/// steps a run's build does, for callers that want the images alone.
pub async fn build_variant_images(
    engine: &crate::engine::Engine,
    workspace: &crate::workspace::Workspace,
    pairs: &[(crate::model::variant::Variant, crate::model::variant::Base)],
) -> Result<VariantImages, BuildError> {
    let server = build_static_server(workspace).await?;
    let never = tokio_util::sync::CancellationToken::new();
    ensure_variant_images(engine, workspace, &server, pairs, &|_| {}, &never).await
}

/// The repository prefix of every image the harness makes. `localhost/` cannot resolve to a
/// public registry, so a missing image fails instead of being pulled from one.
pub const IMAGE_PREFIX: &str = "localhost/shutdown-harness";
