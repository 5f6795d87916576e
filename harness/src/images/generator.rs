//! The load generator's image: the project's static `load-generator` binary, `FROM scratch`,
//! run beside a target in its network namespace (the `netns` vantage).

use std::path::Path;

use super::error::BuildError;
use super::rootfs::{Forged, HostBinary, RootfsImage, forge};
use crate::engine::Engine;

/// The generator's image, from the static binary at `binary` (built with the server).
pub async fn generator_image(engine: &Engine, binary: &Path) -> Result<Forged, BuildError> {
    let spec = RootfsImage {
        repository: "load-generator".to_string(),
        flavour: None,
        binaries: vec![HostBinary {
            candidates: vec![binary.to_path_buf()],
            package: "the workspace's load-generator (built with the server)".to_string(),
            installed_as: vec!["/load-generator".to_string()],
            is_static: true,
        }],
        symlinks: Vec::new(),
        trees: Vec::new(),
        files: Vec::new(),
        // The stop signal ends the stream: the binary is PID 1 and handles it.
        instructions: vec![r#"ENTRYPOINT ["/load-generator"]"#.to_string()],
        labels: std::collections::HashMap::new(),
    };
    forge(engine, &spec).await
}
