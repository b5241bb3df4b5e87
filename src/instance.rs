//! One running Sotto per database: the GUI and every CLI command that
//! connects take an exclusive lock on a file beside the database, so a
//! second one says clearly that Sotto is already running instead of
//! failing later with "database is locked" or fighting over the outbox.
//! The lock goes with the process, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum InstanceError {
    #[error(
        "Sotto is already running with this data folder{}: use that one, or quit it first",
        .pid.map(|p| format!(" (process {p})")).unwrap_or_default()
    )]
    AlreadyRunning { pid: Option<u32> },
    #[error("could not use {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while this process runs the engine.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Where the lock of the database at `db` lives.
pub fn lock_file(db: &Path) -> PathBuf {
    db.with_extension("db.lock")
}

impl InstanceLock {
    pub fn acquire(db: &Path) -> Result<Self, InstanceError> {
        let path = lock_file(db);
        let io = |source| InstanceError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(InstanceError::AlreadyRunning {
                    pid: text.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Who holds it, for the next one's message.
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_told_who_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("sotto.db");
        let first = InstanceLock::acquire(&db).expect("first");
        let err = InstanceLock::acquire(&db).expect_err("second");
        let text = err.to_string();
        assert!(text.contains("already running"), "{text}");
        assert!(
            text.contains(&std::process::id().to_string()),
            "names the process: {text}"
        );
        drop(first);
        InstanceLock::acquire(&db).expect("free again");
    }
}
