//! Writing a zstd-compressed tar archive of named entries and blobs, each blob checked against
//! its size and hash as it is copied: backups and evidence bundles are both written with it.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::{BackupError, Hashing, blob_entry_name, blob_path, io};

/// An archive being written to a file.
pub(crate) struct ArchiveWriter<'f> {
    tar: tar::Builder<zstd::stream::write::Encoder<'static, &'f File>>,
    mtime: u64,
    writing: String,
}

impl<'f> ArchiveWriter<'f> {
    /// Starts an archive in `file`; `writing` names it in error messages.
    pub(crate) fn new(file: &'f File, writing: &str) -> Result<ArchiveWriter<'f>, BackupError> {
        let mut encoder = zstd::stream::write::Encoder::new(file, 3).map_err(io(writing))?;
        // A checksum over the whole stream, so damage anywhere is found on reading, even in
        // parts the reader has no other reason to look at.
        encoder.include_checksum(true).map_err(io(writing))?;
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(ArchiveWriter {
            tar: tar::Builder::new(encoder),
            mtime,
            writing: writing.to_owned(),
        })
    }

    /// Appends an entry of `size` bytes read from `data`.
    pub(crate) fn append(
        &mut self,
        name: &str,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<(), BackupError> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(self.mtime);
        self.tar
            .append_data(&mut header, name, data)
            .map_err(io(self.writing.as_str()))
    }

    /// Appends the blob `hash` of `size` bytes from the blob directory `blobs`, refusing a file
    /// that is missing, of another size, or whose bytes do not match the hash.
    pub(crate) fn append_blob(
        &mut self,
        blobs: &Path,
        hash: &str,
        size: u64,
    ) -> Result<(), BackupError> {
        let path = blob_path(blobs, hash);
        let file = File::open(&path).map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                BackupError::Data(format!(
                    "blob {hash} is listed in the database but its file {} is missing",
                    path.display()
                ))
            } else {
                BackupError::Io {
                    what: format!("reading blob {}", path.display()),
                    error,
                }
            }
        })?;
        let on_disk = file
            .metadata()
            .map_err(io(format!("reading blob {}", path.display())))?
            .len();
        if on_disk != size {
            return Err(BackupError::Data(format!(
                "blob {hash} is damaged: its file {} has {on_disk} bytes, the database says {size}",
                path.display(),
            )));
        }
        let mut reader = Hashing::new(file.take(size));
        self.append(&blob_entry_name(hash), size, &mut reader)?;
        let (count, actual) = reader.finish();
        if count != size || actual != hash {
            return Err(BackupError::Data(format!(
                "blob {hash} is damaged: the bytes of its file {} do not match its hash",
                path.display()
            )));
        }
        Ok(())
    }

    /// Ends the archive and its compressed stream.
    pub(crate) fn finish(self) -> Result<(), BackupError> {
        let encoder = self.tar.into_inner().map_err(io(self.writing.as_str()))?;
        encoder.finish().map_err(io(self.writing.as_str()))?;
        Ok(())
    }
}
