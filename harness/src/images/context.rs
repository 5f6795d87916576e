//! In-memory, reproducible tar build contexts and the content digests that name images.

use sha2::{Digest, Sha256};

/// How many hex digits of a content digest go into a tag.
pub(super) const TAG_DIGEST_LEN: usize = 12;

/// A build context: fixed owner and mtime, so equal content gives equal bytes (and so equal
/// cache keys).
pub(super) struct BuildContext {
    tar: tar::Builder<Vec<u8>>,
}

impl BuildContext {
    /// An empty context.
    pub(super) fn new() -> Self {
        Self {
            tar: tar::Builder::new(Vec::new()),
        }
    }

    /// Adds a regular file at `path` (relative to the context root) with `mode`.
    pub(super) fn add_file(&mut self, path: &str, bytes: &[u8], mode: u32) -> std::io::Result<()> {
        let mut header = Self::header(tar::EntryType::Regular, mode);
        header.set_size(bytes.len() as u64);
        self.tar.append_data(&mut header, path, bytes)
    }

    /// Adds a symbolic link at `path` pointing at `target`.
    pub(super) fn add_symlink(&mut self, path: &str, target: &str) -> std::io::Result<()> {
        let mut header = Self::header(tar::EntryType::Symlink, 0o777);
        header.set_size(0);
        self.tar.append_link(&mut header, path, target)
    }

    /// The finished tar bytes.
    pub(super) fn finish(self) -> std::io::Result<Vec<u8>> {
        self.tar.into_inner()
    }

    fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header
    }
}

/// The first hex digits of the sha256 of `bytes`, as used in content tags.
pub(super) fn short_digest(bytes: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(bytes));
    digest[..TAG_DIGEST_LEN].to_string()
}

/// A content key built from parts, each length-prefixed so parts cannot run into each other.
pub(super) struct ContentKey(Sha256);

impl ContentKey {
    pub(super) fn new() -> Self {
        ContentKey(Sha256::new())
    }

    pub(super) fn add(&mut self, part: &[u8]) {
        self.0.update((part.len() as u64).to_le_bytes());
        self.0.update(part);
    }

    /// The first hex digits of the key.
    pub(super) fn short(self) -> String {
        hex::encode(self.0.finalize())[..TAG_DIGEST_LEN].to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_content_gives_equal_context_bytes() {
        let make = || {
            let mut context = BuildContext::new();
            context
                .add_file("Dockerfile", b"FROM scratch\n", 0o644)
                .unwrap();
            context.add_symlink("rootfs/bin/sh", "busybox").unwrap();
            context.finish().unwrap()
        };
        assert_eq!(make(), make());
        assert_eq!(short_digest(&make()).len(), TAG_DIGEST_LEN);
    }

    #[test]
    fn keys_separate_their_parts() {
        let key = |parts: &[&[u8]]| {
            let mut key = ContentKey::new();
            parts.iter().for_each(|p| key.add(p));
            key.short()
        };
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
    }
}
