//! Connecting to the Docker engine, and the labels that mark what the harness creates.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{ContainerInspectResponse, ImageInspect};
use bollard::query_parameters::{
    ListContainersOptions, ListImagesOptions, RemoveContainerOptions, RemoveImageOptions,
};

use crate::error::{Error, Result};

/// Label carried by every container and image the harness creates.
pub const LABEL_MANAGED: &str = "shutdown-harness.managed";
/// Label naming the run that created a container.
pub const LABEL_RUN: &str = "shutdown-harness.run";

/// Connects to the engine named by `DOCKER_HOST` (or the local socket) and agrees on an API version.
///
/// The engine here speaks API 1.41 (Docker 20.10); bollard 0.21 defaults to a newer one, so
/// the version is negotiated, which also proves the engine answers.
pub async fn connect() -> Result<Docker> {
    let docker =
        Docker::connect_with_defaults().map_err(|source| Error::ConnectDocker { source })?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|source| Error::ConnectDocker { source })?;
    docker
        .ping()
        .await
        .map_err(|source| Error::ConnectDocker { source })?;
    Ok(docker)
}

/// The labels for something created by run `run_id`.
pub fn labels(run_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (LABEL_RUN.to_string(), run_id.to_string()),
    ])
}

/// Force-removes every container carrying `label` (`key` or `key=value`); returns how many.
///
/// Used at the end of each run (its own run label) and by `shutdown-harness clean` (the managed label).
pub async fn remove_labelled_containers(docker: &Docker, label: &str) -> Result<usize> {
    let filters = HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(|source| Error::Docker {
            operation: "list containers",
            source,
        })?;
    let mut removed = 0;
    for id in containers.into_iter().filter_map(|c| c.id) {
        if remove_container(docker, &id).await? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Force-removes container `id` with its volumes; false when it was already gone.
pub async fn remove_container(docker: &Docker, id: &str) -> Result<bool> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match docker.remove_container(id, Some(options)).await {
        Ok(()) => Ok(true),
        // Already gone (removed concurrently, or by its owner): nothing left to do.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(source) => Err(Error::Docker {
            operation: "remove container",
            source,
        }),
    }
}

/// Starts container `id`.
pub async fn start_container(docker: &Docker, id: &str) -> Result<()> {
    docker
        .start_container(id, None)
        .await
        .map_err(|source| Error::Docker {
            operation: "start container",
            source,
        })
}

/// Inspects container `id`.
pub async fn inspect_container(docker: &Docker, id: &str) -> Result<ContainerInspectResponse> {
    docker
        .inspect_container(id, None)
        .await
        .map_err(|source| Error::Docker {
            operation: "inspect container",
            source,
        })
}

/// Inspects a local image; a missing one is [`Error::ImageMissing`] (nothing is ever pulled).
pub async fn inspect_image(docker: &Docker, image: &str) -> Result<ImageInspect> {
    docker
        .inspect_image(image)
        .await
        .map_err(|source| missing_image_or(image, "inspect image", source))
}

/// [`Error::ImageMissing`] for a 404 about `image`, else [`Error::Docker`] for `operation`.
pub fn missing_image_or(
    image: &str,
    operation: &'static str,
    source: bollard::errors::Error,
) -> Error {
    match source {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => Error::ImageMissing {
            image: image.to_string(),
        },
        source => Error::Docker { operation, source },
    }
}

/// Removes every image carrying the managed label (the build cache); returns how many.
/// Images still used by a container are left alone.
pub async fn remove_managed_images(docker: &Docker) -> Result<usize> {
    let filters = HashMap::from([("label".to_string(), vec![LABEL_MANAGED.to_string()])]);
    let options = ListImagesOptions {
        all: false,
        filters: Some(filters),
        ..Default::default()
    };
    let images = docker
        .list_images(Some(options))
        .await
        .map_err(|source| Error::Docker {
            operation: "list images",
            source,
        })?;
    let mut removed = 0;
    for image in images {
        let options = RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        // An image in use by a container (or already gone) stays: clean is best effort.
        if docker
            .remove_image(&image.id, Some(options), None)
            .await
            .is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}
