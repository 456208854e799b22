//! The bee binary an AWS run ships: checked, stripped of debug info, and
//! stored in S3 once per content, so that every run of one build shares
//! one upload.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::aws::S3;
use crate::aws::s3::uri;

/// The file a run uploads, and what it knows about it.
#[derive(Debug)]
pub struct BeeBinary {
    /// The file to upload: the given binary, or a stripped copy of it.
    pub path: PathBuf,
    /// SHA-256 of that file, lowercase hex: it names the S3 key.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Things the user should hear about (a debug build, a failed strip).
    pub notes: Vec<String>,
    /// A stripped copy to remove when done.
    temp: Option<PathBuf>,
}

impl Drop for BeeBinary {
    fn drop(&mut self) {
        if let Some(t) = &self.temp {
            let _ = std::fs::remove_file(t);
        }
    }
}

/// Finds, checks and hashes the bee binary (`--bee-binary`, or this
/// executable). Debug info, which makes up most of a Rust binary and is
/// of no use on a bee, is stripped into a temporary copy when the
/// binutils `strip` is at hand. Blocking: reads the whole file.
pub fn prepare(given: Option<&Path>) -> anyhow::Result<BeeBinary> {
    let original = crate::engine::beeconf::binary(given)?;
    let mut notes = Vec::new();
    if original.components().any(|c| c.as_os_str() == "debug")
        && original.to_string_lossy().contains("target")
    {
        notes.push(format!(
            "the bee binary {} looks like a debug build: bees run it unoptimised. Build with `cargo build --release` and run that stampede, or pass --bee-binary",
            original.display()
        ));
    }
    let mut temp = None;
    let path = if has_debug_info(&original) {
        match strip_copy(&original) {
            Ok(stripped) => {
                temp = Some(stripped.clone());
                stripped
            }
            Err(why) => {
                notes.push(format!(
                    "the bee binary {} carries debug info and could not be stripped ({why}): it is shipped as it is",
                    original.display()
                ));
                original.clone()
            }
        }
    } else {
        original.clone()
    };
    let (sha256, size) =
        hash(&path).with_context(|| format!("hashing the bee binary {}", path.display()))?;
    Ok(BeeBinary {
        path,
        sha256,
        size,
        notes,
        temp,
    })
}

/// Uploads the binary to `key` unless an object of its size is already
/// there (the key names the content, so the object is the same file).
/// Returns whether it uploaded.
pub async fn store(s3: &S3, bucket: &str, key: &str, bin: &BeeBinary) -> anyhow::Result<bool> {
    let present = s3
        .size(bucket, key)
        .await
        .with_context(|| format!("checking for the bee binary at {}", uri(bucket, key)))?;
    if present.and_then(|s| u64::try_from(s).ok()) == Some(bin.size) {
        tracing::debug!(key, "bee binary already stored");
        return Ok(false);
    }
    s3.put_file(bucket, key, &bin.path)
        .await
        .with_context(|| format!("uploading the bee binary {}", bin.path.display()))?;
    Ok(true)
}

/// SHA-256 and size of a file, streamed.
fn hash(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    let hex = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, size))
}

/// `strip --strip-debug` into a temporary file. Symbols stay, so a bee's
/// panic still names its functions.
fn strip_copy(path: &Path) -> Result<PathBuf, String> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!("stampede-bee-{}-{n}", std::process::id()));
    let status = std::process::Command::new("strip")
        .arg("--strip-debug")
        .arg("-o")
        .arg(&out)
        .arg(path)
        .output();
    match status {
        Ok(o) if o.status.success() => Ok(out),
        Ok(o) => {
            let _ = std::fs::remove_file(&out);
            Err(format!(
                "strip failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
        Err(e) => Err(format!("cannot run strip (binutils): {e}")),
    }
}

/// Whether a 64-bit little-endian ELF file has debug info (`.debug_*`
/// sections that are not loaded). Any
/// header that does not add up reads as "no".
pub fn has_debug_info(path: &Path) -> bool {
    debug_sections(path).unwrap_or(false)
}

fn debug_sections(path: &Path) -> std::io::Result<bool> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = [0u8; 64];
    f.read_exact(&mut head)?;
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u64_at = |b: &[u8], i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let (shoff, shentsize) = (u64_at(&head, 0x28), u64::from(u16_at(&head, 0x3A)));
    let (shnum, shstrndx) = (
        u64::from(u16_at(&head, 0x3C)),
        u64::from(u16_at(&head, 0x3E)),
    );
    let table = shnum * shentsize;
    if &head[..4] != b"\x7fELF" || shentsize < 64 || shstrndx >= shnum || shoff + table > len {
        return Ok(false);
    }
    let mut sections = vec![0u8; usize::try_from(table).unwrap_or(0)];
    f.seek(SeekFrom::Start(shoff))?;
    f.read_exact(&mut sections)?;
    let header = |i: u64| &sections[(i * shentsize) as usize..][..64];
    // sh_name at 0, sh_offset at 0x18, sh_size at 0x20.
    let strtab = header(shstrndx);
    let (str_off, str_size) = (u64_at(strtab, 0x18), u64_at(strtab, 0x20));
    if str_off + str_size > len || str_size > 1 << 20 {
        return Ok(false);
    }
    let mut names = vec![0u8; str_size as usize];
    f.seek(SeekFrom::Start(str_off))?;
    f.read_exact(&mut names)?;
    // Only sections not loaded at run time (no SHF_ALLOC in sh_flags at
    // 8) count: `.debug_gdb_scripts` is loaded, and strip keeps it.
    Ok((0..shnum).any(|i| {
        let h = header(i);
        let at = u32::from_le_bytes(h[..4].try_into().unwrap_or_default()) as usize;
        let loaded = u64_at(h, 8) & 0x2 != 0;
        !loaded && names.get(at..).is_some_and(|n| n.starts_with(b".debug_"))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test binary itself is a debug build: it has debug sections,
    /// and its stripped copy has none and is smaller.
    #[test]
    fn debug_info_is_found_and_stripped() {
        let me = std::env::current_exe().unwrap();
        assert!(has_debug_info(&me));
        let bin = prepare(Some(&me)).unwrap();
        assert_ne!(bin.path, me, "{:?}", bin.notes);
        assert!(!has_debug_info(&bin.path));
        assert!(bin.size < std::fs::metadata(&me).unwrap().len() / 2);
        assert_eq!(bin.sha256.len(), 64);
        let temp = bin.path.clone();
        drop(bin);
        assert!(!temp.exists(), "the stripped copy is removed");
    }

    #[test]
    fn a_header_only_elf_is_shipped_as_it_is() {
        let dir = std::env::temp_dir().join(format!("beebin-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("stand-in");
        let mut head = vec![0u8; 64];
        std::fs::File::open(std::env::current_exe().unwrap())
            .unwrap()
            .read_exact(&mut head)
            .unwrap();
        std::fs::write(&path, &head).unwrap();
        assert!(!has_debug_info(&path));
        let bin = prepare(Some(&path)).unwrap();
        assert_eq!(bin.path, path);
        assert_eq!(bin.size, 64);
        // The same content gives the same key.
        assert_eq!(bin.sha256, prepare(Some(&path)).unwrap().sha256);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
