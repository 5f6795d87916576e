//! What can go wrong preparing the server binary and the images.

use std::path::PathBuf;

use crate::engine::EngineError;

/// A failure of the images stage; nothing has run yet when it happens.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Building the static server binary failed.
    #[error("building the static server failed: {reason}; run `{command}` to see why")]
    Server {
        /// The documented build command.
        command: String,
        /// The tail of cargo's output.
        reason: String,
    },
    /// A host binary an image is forged from is missing.
    #[error(
        "forging the `{image}` image needs {path} from the host: install it with `apt-get install {package}`"
    )]
    HostBinaryMissing {
        /// The image being forged.
        image: String,
        /// The binary looked for.
        path: PathBuf,
        /// The Debian package providing it.
        package: String,
    },
    /// Forging an image from host files failed for another reason.
    #[error("forging the `{image}` image failed: {reason}")]
    Forge {
        /// The image being forged.
        image: String,
        /// Why.
        reason: String,
    },
    /// A variant cannot be built on a base (a shell variant on `none`).
    #[error("image {image} cannot be built: {reason}")]
    Impossible {
        /// The image asked for.
        image: String,
        /// Why, and what to pick instead.
        reason: String,
    },
    /// Reading a host file failed.
    #[error("reading {path} failed: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The run was interrupted: the builds under way finished, no other was started.
    #[error(
        "interrupted while preparing images: the builds under way finished, no other was started"
    )]
    Interrupted,
    /// The engine failed a build, tag or inspect.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Reads a host file, naming it in the error.
pub(super) async fn read_host_file(path: &std::path::Path) -> Result<Vec<u8>, BuildError> {
    tokio::fs::read(path)
        .await
        .map_err(|source| BuildError::Read {
            path: path.to_path_buf(),
            source,
        })
}
