//! Images: inspect, build (classic builder, never pulling), tag, and remove the harness's own.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::{
    BuildImageOptions, BuilderVersion, ListImagesOptions, RemoveImageOptions, TagImageOptions,
};
use futures_util::StreamExt;

use super::connection::{CALL_DEADLINE, Engine, deadline};
use super::error::{EngineError, is_not_found};
use super::labels::LABEL_MANAGED;

/// How long one image build may take: forging copies a few MiB from the host; the longest seen
/// took seconds, so this bounds only a stuck builder.
const BUILD_DEADLINE: Duration = Duration::from_secs(600);
/// How many lines of the builder's output a failed build reports.
const BUILD_TAIL_LINES: usize = 10;

/// What an image's config says about how its container starts and stops.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageConfig {
    /// The image id (`sha256:...`).
    pub id: String,
    /// `Config.Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Config.Cmd`.
    pub cmd: Vec<String>,
    /// `Config.StopSignal`, when the image sets one.
    pub stop_signal: Option<String>,
    /// `Config.User` (empty: root).
    pub user: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
}

impl Engine {
    /// The config of a local image; None when it is not present (nothing is ever pulled).
    pub async fn image(&self, reference: &str) -> Result<Option<ImageConfig>, EngineError> {
        deadline("inspect image", CALL_DEADLINE, async {
            match self.docker().inspect_image(reference).await {
                Ok(inspect) => {
                    let config = inspect.config.unwrap_or_default();
                    Ok(Some(ImageConfig {
                        id: inspect.id.unwrap_or_default(),
                        entrypoint: config.entrypoint.unwrap_or_default(),
                        cmd: config.cmd.unwrap_or_default(),
                        stop_signal: config.stop_signal.filter(|s| !s.is_empty()),
                        user: config.user.unwrap_or_default(),
                        labels: config.labels.unwrap_or_default(),
                    }))
                }
                Err(error) if is_not_found(&error) => Ok(None),
                Err(error) => Err(EngineError::call("inspect image", error)),
            }
        })
        .await
    }

    /// The config of a local image that must be present: a missing one is
    /// [`EngineError::ImageMissing`].
    pub async fn require_image(&self, reference: &str) -> Result<ImageConfig, EngineError> {
        self.image(reference)
            .await?
            .ok_or_else(|| EngineError::ImageMissing {
                image: reference.to_string(),
            })
    }

    /// Builds `context` (a tar whose Dockerfile is `Dockerfile`) as `tag` with the classic
    /// builder. Never pulls: the caller makes sure every `FROM` names `scratch` or a local image.
    /// The image carries the managed label plus `labels`; intermediate containers are removed.
    pub async fn build_image(
        &self,
        tag: &str,
        context: Vec<u8>,
        build_args: HashMap<String, String>,
        mut labels: HashMap<String, String>,
    ) -> Result<(), EngineError> {
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
        let failed = |message: &str, log: &str| EngineError::Build {
            tag: tag.to_string(),
            reason: format!("{message}\nlast build output:\n{}", tail(log)),
        };
        deadline("build image", BUILD_DEADLINE, async {
            let mut progress = self.docker().build_image(options, None, Some(body));
            let mut log = String::new();
            while let Some(item) = progress.next().await {
                match item {
                    Ok(info) => {
                        log.push_str(info.stream.as_deref().unwrap_or_default());
                        if let Some(error) = info.error_detail.and_then(|d| d.message) {
                            return Err(failed(&error, &log));
                        }
                    }
                    Err(e) => return Err(failed(&e.to_string(), &log)),
                }
            }
            // The classic builder reports some failures only by not tagging: check the result.
            match self.image(tag).await? {
                Some(_) => Ok(()),
                None => Err(failed(
                    "the engine finished without producing the image",
                    &log,
                )),
            }
        })
        .await
    }

    /// Tags image `source` as `repository:tag`.
    pub async fn tag_image(
        &self,
        source: &str,
        repository: &str,
        tag: &str,
    ) -> Result<(), EngineError> {
        let options = TagImageOptions {
            repo: Some(repository.to_string()),
            tag: Some(tag.to_string()),
        };
        deadline("tag image", CALL_DEADLINE, async {
            self.docker()
                .tag_image(source, Some(options))
                .await
                .map_err(|e| EngineError::on_image("tag image", source, e))
        })
        .await
    }

    /// Removes every image carrying the managed label (the build cache); returns how many.
    /// Images still used by a container are left alone.
    pub async fn remove_managed_images(&self) -> Result<usize, EngineError> {
        let filters = HashMap::from([("label".to_string(), vec![LABEL_MANAGED.to_string()])]);
        let options = ListImagesOptions {
            all: false,
            filters: Some(filters),
            ..Default::default()
        };
        let images = deadline("list images", CALL_DEADLINE, async {
            self.docker()
                .list_images(Some(options))
                .await
                .map_err(|e| EngineError::call("list images", e))
        })
        .await?;
        let mut removed = 0;
        for image in images {
            let options = RemoveImageOptions {
                force: true,
                ..Default::default()
            };
            let gone = deadline("remove image", CALL_DEADLINE, async {
                Ok(self
                    .docker()
                    .remove_image(&image.id, Some(options), None)
                    .await
                    .is_ok())
            })
            .await?;
            // An image in use by a container (or already gone) stays: clean is best effort.
            if gone {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// The last lines of a build's output.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(BUILD_TAIL_LINES)..].join("\n")
}
