//! Reading the text files a user hands stampede (blueprints, gates,
//! templates, userdata, summaries): only regular files, never more than a
//! cap, a UTF-8 byte-order mark dropped, and invalid UTF-8 named by line.
//! A FIFO or a device would block or never end; a file the size of a disk
//! would take that much memory; both become errors before anything runs.

use std::io::Read;
use std::path::Path;

/// Largest blueprint, gate, template or userdata file: far above any real
/// one (CloudFormation's own template limit is 1 MB).
pub const MAX_TEXT_BYTES: u64 = 8 << 20;

/// Why a text input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    /// Opening or reading failed.
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    /// Not a regular file (a FIFO, a socket, a device or a directory).
    #[error("it is a {0}, not a regular file")]
    NotAFile(&'static str),
    /// Over the size cap.
    #[error("it holds more than {max} bytes, more than any such file needs")]
    TooLarge {
        /// The cap.
        max: u64,
    },
    /// Not UTF-8 text.
    #[error("line {line}: not UTF-8 text (byte {offset} of the file)")]
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
}

/// Reads `path` as text of at most `max` bytes.
pub fn read_text(path: &Path, max: u64) -> Result<String, InputFileError> {
    use std::os::unix::fs::OpenOptionsExt;
    // Opening a FIFO for reading waits for a writer: non-blocking open,
    // then the type check, so it is refused instead.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(InputFileError::NotAFile(describe(&kind)));
    }
    let mut bytes = Vec::new();
    // Read one byte past the cap: the size in the metadata can change
    // under us, what we read cannot.
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(InputFileError::TooLarge { max });
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    match std::str::from_utf8(body) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => {
            let offset = e.valid_up_to();
            let line = 1 + body[..offset].iter().filter(|&&b| b == b'\n').count();
            Err(InputFileError::NotUtf8 { line, offset })
        }
    }
}

fn describe(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "directory"
    } else if kind.is_fifo() {
        "FIFO (named pipe)"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_is_dropped_and_text_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.yml");
        std::fs::write(&p, b"\xEF\xBB\xBFname: x\n").unwrap();
        assert_eq!(read_text(&p, 100).unwrap(), "name: x\n");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&p).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("SKIP: mkfifo is not available");
            return;
        }
        let err = read_text(&p, 100).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
    }

    #[test]
    fn a_directory_an_oversized_file_and_bad_utf8_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_text(dir.path(), 100).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'a'; 101]).unwrap();
        let err = read_text(&p, 100).unwrap_err();
        assert!(err.to_string().contains("more than 100 bytes"), "{err}");
        std::fs::write(&p, b"ok\nok\n\xFF\n").unwrap();
        let err = read_text(&p, 100).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: not UTF-8 text (byte 6 of the file)"
        );
    }
}
