//! An alert instance's identity: a fingerprint of its label set that does not depend on the
//! labels' order and stays the same across restarts and versions (it is stored, and
//! receivers deduplicate on it).

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// 16 hex digits: the first 8 bytes of SHA-256 over the labels sorted by name, each name and
/// value prefixed by its length in bytes (8 bytes, little-endian), so no two label sets share
/// an input — whatever characters names and values contain.
pub fn fingerprint<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let sorted: BTreeMap<&str, &str> = labels.into_iter().collect();
    let mut hasher = Sha256::new();
    hasher.update(b"hexcovery-alert-labels-v1\0");
    for (name, value) in sorted {
        for part in [name, value] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
    }
    let digest = hasher.finalize();
    hex::encode(&digest[..8])
}

/// The fingerprint of a label map.
pub fn fingerprint_of(labels: &BTreeMap<String, String>) -> String {
    fingerprint(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_independent_and_stable() {
        let a = fingerprint([("service", "checkout"), ("team", "payments")]);
        let b = fingerprint([("team", "payments"), ("service", "checkout")]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 16);
        // Pinned: a change here breaks every stored instance and receivers' deduplication.
        assert_eq!(
            a,
            fingerprint_of(
                &[
                    ("service".to_string(), "checkout".to_string()),
                    ("team".into(), "payments".into())
                ]
                .into()
            )
        );
        assert_eq!(fingerprint([]), PINNED_EMPTY);
        assert_eq!(a, PINNED_TWO);
    }

    // Computed independently: Python's hashlib over the same bytes.
    const PINNED_EMPTY: &str = "37dcd0b033c6ad97";
    const PINNED_TWO: &str = "321d985145399648";

    #[test]
    fn separators_cannot_collide() {
        let distinct = [
            fingerprint([("a", "bc")]),
            fingerprint([("ab", "c")]),
            fingerprint([("a", "b"), ("c", "")]),
            fingerprint([("a", "b\0c")]),
            fingerprint([("a", "")]),
            fingerprint([]),
            fingerprint([("a=b", "c")]),
            fingerprint([("a", "b=c")]),
        ];
        for (i, x) in distinct.iter().enumerate() {
            for y in &distinct[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }
}
