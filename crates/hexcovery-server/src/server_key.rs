//! Where the server key comes from: the configuration (for clusters, where every node must
//! share it), or `<data_dir>/server.key`, created with owner-only permissions on first start.

use crate::config::ServerConfig;
use anyhow::Context as _;
use hexcovery_auth::ServerKey;
use std::io::Write as _;

const KEY_FILE: &str = "server.key";

pub fn load_or_create(config: &ServerConfig) -> anyhow::Result<ServerKey> {
    if let Some(hex) = &config.server_key {
        return ServerKey::from_hex(hex).context("HEXCOVERY_SERVER_KEY / --server-key");
    }
    let path = config.data_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            ServerKey::from_hex(&text).with_context(|| format!("reading {}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = ServerKey::generate();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            file.write_all(key.to_hex().as_bytes())?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "created a new server key");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let config = ServerConfig::with_data_dir(dir.path());
        let first = load_or_create(&config).unwrap();
        let second = load_or_create(&config).unwrap();
        assert_eq!(first.to_hex(), second.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn configured_key_wins_and_bad_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::with_data_dir(dir.path());
        let key = ServerKey::generate();
        config.server_key = Some(key.to_hex());
        assert_eq!(load_or_create(&config).unwrap().to_hex(), key.to_hex());
        config.server_key = Some("short".into());
        assert!(load_or_create(&config).is_err());
    }
}
