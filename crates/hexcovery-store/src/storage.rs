//! Where Parquet files and manifests live: an `object_store` (local disk by default, any
//! S3-compatible store for scale-out). On local disk a put is followed by an fsync of the
//! file and its directory, so a committed manifest survives power loss too.

use bytes::Bytes;
use futures::TryStreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt as _, PutPayload};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Set for local disk: the directory object paths are relative to.
    local_root: Option<PathBuf>,
}

impl Storage {
    /// Local-disk storage rooted at `root` (created if missing).
    pub fn local(root: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(root)?;
        let root = root.canonicalize()?;
        Ok(Self {
            store: Arc::new(LocalFileSystem::new_with_prefix(&root)?),
            local_root: Some(root),
        })
    }

    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    pub fn local_root(&self) -> Option<&Path> {
        self.local_root.as_deref()
    }

    /// Writes an object atomically (readers see the old or the new bytes, never a mix) and
    /// durably.
    pub async fn put(&self, path: &str, bytes: Bytes) -> anyhow::Result<()> {
        self.store
            .put(&ObjectPath::from(path), PutPayload::from(bytes))
            .await?;
        if let Some(root) = &self.local_root {
            let file = root.join(path);
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                std::fs::File::open(&file)?.sync_all()?;
                if let Some(dir) = file.parent() {
                    std::fs::File::open(dir)?.sync_all()?;
                }
                Ok(())
            })
            .await??;
        }
        Ok(())
    }

    /// The object's bytes, or `None` if there is no such object.
    pub async fn get(&self, path: &str) -> anyhow::Result<Option<Bytes>> {
        match self.store.get(&ObjectPath::from(path)).await {
            Ok(result) => Ok(Some(result.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<()> {
        match self.store.delete(&ObjectPath::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object under `prefix` (recursively).
    pub async fn list(&self, prefix: &str) -> anyhow::Result<Vec<ObjectMeta>> {
        Ok(self
            .store
            .list(Some(&ObjectPath::from(prefix)))
            .try_collect()
            .await?)
    }
}
