//! The workspace the harness builds from: the server's sources, `Dockerfiles/` and `scenarios/`.
//! Its path is always passed in (found from the current directory by the CLI), never compiled in.

use std::path::{Path, PathBuf};

/// A checkout of this project: where the server is built and the variant Dockerfiles live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The workspace rooted at `root`, which must hold `Dockerfiles/` and `server/`; None when
    /// it does not.
    pub fn at(root: impl Into<PathBuf>) -> Option<Workspace> {
        let root = root.into();
        (root.join("Dockerfiles").is_dir() && root.join("server").join("Cargo.toml").is_file())
            .then_some(Workspace { root })
    }

    /// The workspace holding `start`: `start` itself or the nearest parent that is one.
    pub fn find_from(start: &Path) -> Option<Workspace> {
        start.ancestors().find_map(Workspace::at)
    }

    /// Its root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `Dockerfiles/`: one file per entrypoint variant.
    pub fn dockerfiles(&self) -> PathBuf {
        self.root.join("Dockerfiles")
    }

    /// `scenarios/`: the scenario files `run` and `list` read by default.
    pub fn scenarios(&self) -> PathBuf {
        self.root.join("scenarios")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_is_found_from_inside_it() {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let workspace = Workspace::find_from(here).expect("the harness lives in a workspace");
        assert_eq!(workspace.root(), here.parent().unwrap());
        assert!(Workspace::at(here).is_none(), "harness/ alone is not one");
    }
}
