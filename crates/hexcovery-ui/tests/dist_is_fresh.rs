//! The committed `web/dist` was built from the committed sources: recomputes the inputs hash
//! exactly as `web/scripts/inputs-hash.mjs` does and compares it with the one the build
//! wrote to `web/dist/inputs.sha256`.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const TOP: &[&str] = &[
    "index.html",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
];
const DIRS: &[&str] = &["src", "public"];

fn web() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

/// Files under `dir` (recursively) that are not unit tests, as `/`-separated paths relative
/// to `web`.
fn walk(web: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        // statSync follows symbolic links, as `metadata` does.
        if std::fs::metadata(&path).unwrap().is_dir() {
            walk(web, &path, out);
        } else {
            let name = path.file_name().unwrap().to_str().unwrap();
            if name.ends_with(".test.ts") || name.ends_with(".test.tsx") {
                continue;
            }
            let rel = path.strip_prefix(web).unwrap();
            let parts: Vec<&str> = rel.iter().map(|p| p.to_str().unwrap()).collect();
            out.push(parts.join("/"));
        }
    }
}

fn inputs(web: &Path) -> Vec<String> {
    let mut files: Vec<String> = TOP
        .iter()
        .filter(|f| web.join(f).exists())
        .map(|f| f.to_string())
        .collect();
    for dir in DIRS {
        walk(web, &web.join(dir), &mut files);
    }
    // Byte order of the UTF-8 paths, as `Buffer.compare`.
    files.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    files
}

fn inputs_hash(web: &Path) -> String {
    let mut hash = Sha256::new();
    for file in inputs(web) {
        let bytes = std::fs::read(web.join(&file)).unwrap();
        hash.update(file.as_bytes());
        hash.update(b"\0");
        hash.update(bytes.len().to_string().as_bytes());
        hash.update(b"\0");
        hash.update(&bytes);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_committed_dist_is_built_from_the_committed_sources() {
    let web = web();
    let want = inputs_hash(&web);
    let have = std::fs::read_to_string(web.join("dist/inputs.sha256"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "(missing)".to_owned());
    assert_eq!(
        have, want,
        "web/dist is stale: it was built from inputs hashing to {have}, the sources hash to \
         {want}; run `cd web && npm ci && npm run build` and commit web/dist"
    );
}

#[test]
fn unit_tests_and_other_folders_are_not_inputs() {
    let files = inputs(&web());
    assert!(files.iter().any(|f| f == "index.html"));
    assert!(files.iter().any(|f| f.starts_with("src/")));
    assert!(
        files
            .iter()
            .all(|f| !f.ends_with(".test.ts") && !f.ends_with(".test.tsx"))
    );
    assert!(
        files
            .iter()
            .all(|f| !f.starts_with("dist/") && !f.starts_with("node_modules/"))
    );
}
