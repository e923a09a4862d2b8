//! The hash of a plugin file, which names its build.

use sha2::{Digest, Sha256};

/// The SHA-256 of a plugin file: it tells whether a reload has anything new to load, and its
/// first [`BUILD_LEN`] hex digits name the build.
/// (The default, all zeros, stands in where no file is hashed: a sandbox worker.)
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct FileHash([u8; 32]);

/// Hex digits of a build name.
pub(crate) const BUILD_LEN: usize = 16;

impl FileHash {
    pub(crate) fn of(bytes: &[u8]) -> FileHash {
        FileHash(Sha256::digest(bytes).into())
    }

    /// All 64 hex digits.
    pub(crate) fn hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// The build's name: the first [`BUILD_LEN`] hex digits.
    pub(crate) fn build(&self) -> String {
        let mut hex = self.hex();
        hex.truncate(BUILD_LEN);
        hex
    }
}

impl std::fmt::Debug for FileHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

/// Whether `name` has the form of a build name: [`BUILD_LEN`] lowercase hex digits.
pub fn is_build_name(name: &str) -> bool {
    name.len() == BUILD_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hash_tells_files_apart_and_names_builds() {
        assert_eq!(FileHash::of(b"plugin"), FileHash::of(b"plugin"));
        assert_ne!(FileHash::of(b"plugin v1"), FileHash::of(b"plugin v2"));
        // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        let abc = FileHash::of(b"abc");
        assert_eq!(
            abc.hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(abc.build(), "ba7816bf8f01cfea");
        assert!(is_build_name(&abc.build()));
        for bad in [
            "",
            "ba7816bf8f01cfe",
            "BA7816BF8F01CFEA",
            "ba7816bf8f01cfeg",
            "ba7816bf8f01cfea0",
        ] {
            assert!(!is_build_name(bad), "{bad:?}");
        }
    }
}
