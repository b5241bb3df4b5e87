//! Where Sotto keeps its files.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;
use thiserror::Error;

/// The environment variable that puts all of Sotto's files in one folder.
pub const HOME_ENV: &str = "SOTTO_HOME";

#[derive(Debug, Error)]
pub enum PathsError {
    #[error(
        "no home folder could be found for this user; set {HOME_ENV} to a folder for Sotto's data"
    )]
    NoHome,
    #[error("could not create {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The folders Sotto writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// Where the running GUI's door (its socket) is: the session's
    /// runtime folder on Linux, the cache on macOS, which has none.
    pub runtime_dir: PathBuf,
}

impl Paths {
    /// All data and config below one folder (`--home` / `SOTTO_HOME`).
    pub fn under(home: &Path) -> Self {
        Self {
            config_dir: home.join("config"),
            data_dir: home.join("data"),
            cache_dir: home.join("cache"),
            runtime_dir: home.join("run"),
        }
    }

    /// The platform's places: XDG on Linux, `~/Library/...` on macOS.
    pub fn platform() -> Result<Self, PathsError> {
        let dirs = ProjectDirs::from("im", "Sotto", "Sotto").ok_or(PathsError::NoHome)?;
        Ok(Self {
            config_dir: dirs.config_dir().to_owned(),
            data_dir: dirs.data_dir().to_owned(),
            cache_dir: dirs.cache_dir().to_owned(),
            runtime_dir: dirs.runtime_dir().unwrap_or(dirs.cache_dir()).to_owned(),
        })
    }

    /// `home` if given, else the platform's places.
    pub fn resolve(home: Option<&Path>) -> Result<Self, PathsError> {
        match home {
            Some(home) => Ok(Self::under(home)),
            None => Self::platform(),
        }
    }

    /// Creates the folders, readable only by the user on Unix.
    pub fn create(&self) -> Result<(), PathsError> {
        for dir in [
            &self.config_dir,
            &self.data_dir,
            &self.cache_dir,
            &self.runtime_dir,
        ] {
            create_private_dir(dir).map_err(|source| PathsError::Create {
                path: dir.clone(),
                source,
            })?;
        }
        Ok(())
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("sotto.toml")
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_override_keeps_everything_inside() {
        let paths = Paths::resolve(Some(Path::new("/tmp/x"))).expect("paths");
        for p in [&paths.config_dir, &paths.data_dir, &paths.cache_dir] {
            assert!(p.starts_with("/tmp/x"), "{p:?}");
        }
        assert!(paths.config_file().starts_with("/tmp/x/config"));
    }
}
