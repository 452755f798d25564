//! RedEX: local append-only logs, one per channel name.
//!
//! A [`Redex`] manager maps channel names to [`RedexFile`]s, in memory or under
//! a directory. Each file is a monotonic sequence of fixed 20-byte index
//! [`record`]s plus a payload segment; 8-byte payloads can live inline in the
//! record. Higher layers (CortEX, NetDB) build on this; nothing here knows them.

mod config;
mod disk;
mod file;
pub mod record;

pub use config::{FsyncPolicy, RedexFileConfig, Retention, DEFAULT_MAX_PAYLOAD};
pub use disk::Recovery;
pub use file::{RedexEntry, RedexFile, Tail};

use crate::error::Result;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Opens and remembers logs by channel name.
#[derive(Debug, Default)]
pub struct Redex {
    dir: Option<PathBuf>,
    files: Mutex<HashMap<String, RedexFile>>,
}

impl Redex {
    /// A manager whose logs live in memory.
    pub fn new() -> Redex {
        Redex::default()
    }

    /// A manager whose logs persist under `dir` (`<dir>/<channel path>/{idx,dat,ts}`).
    pub fn with_persistent_dir(dir: impl AsRef<Path>) -> Redex {
        Redex {
            dir: Some(dir.as_ref().to_path_buf()),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// Opens the log for `channel` (or returns the one already open). For a
    /// persistent manager the first open replays the files; its recovery report
    /// is returned then (and `None` for an already-open log).
    pub fn open_file(
        &self,
        channel: &str,
        config: RedexFileConfig,
    ) -> Result<(RedexFile, Option<Recovery>)> {
        let mut files = self.files.lock();
        if let Some(file) = files.get(channel) {
            return Ok((file.clone(), None));
        }
        disk::channel_path(channel)?;
        config.validate()?;
        let (file, report) = match &self.dir {
            Some(dir) => {
                let (file, report) = RedexFile::open_persistent(dir, channel, config)?;
                (file, Some(report))
            }
            None => (RedexFile::open_memory(channel, config), None),
        };
        files.insert(channel.to_owned(), file.clone());
        Ok((file, report))
    }

    /// Closes every open log (each one syncs first). Returns the first error.
    pub fn close(&self) -> Result<()> {
        let files: Vec<RedexFile> = self.files.lock().drain().map(|(_, f)| f).collect();
        let mut result = Ok(());
        for file in files {
            let r = file.close();
            if result.is_ok() {
                result = r;
            }
        }
        result
    }
}

#[cfg(test)]
mod tests;
