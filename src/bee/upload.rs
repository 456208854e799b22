//! What a bee puts beside its results: its JTL, gzipped, and its log.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::BeeConfig;
use crate::aws::{self, Clients};

/// Puts the bee's log beside its results: from memory, so that a full
/// disk does not stop it.
pub(super) async fn leave_trail(cfg: &BeeConfig, id: &str, text: String) -> anyhow::Result<()> {
    let name = format!("{id}.log");
    match aws::s3::parse_uri(&cfg.results) {
        Some((bucket, prefix)) => {
            let clients = aws::connect(cfg.region.as_deref(), None).await?;
            let key = format!("{}/{name}", prefix.trim_end_matches('/'));
            clients.s3.put(bucket, &key, text.into_bytes()).await?;
        }
        None => {
            let dir = PathBuf::from(&cfg.results);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join(&name), text)
                .with_context(|| format!("writing {}", dir.join(&name).display()))?;
        }
    }
    Ok(())
}

/// Gzips the JTL and puts it beside the other bees' results.
pub(super) async fn upload(
    cfg: &BeeConfig,
    clients: Option<&Clients>,
    id: &str,
    jtl: &Path,
) -> anyhow::Result<String> {
    let gz = jtl.with_extension("jtl.gz");
    let (src, dst) = (jtl.to_path_buf(), gz.clone());
    tokio::task::spawn_blocking(move || gzip(&src, &dst)).await??;
    put_beside(cfg, clients, &format!("{id}.jtl.gz"), &gz).await
}

/// Puts the file `local` into the run's results as `name` (S3, or the
/// laptop run's results folder); returns where it went.
pub(super) async fn put_beside(
    cfg: &BeeConfig,
    clients: Option<&Clients>,
    name: &str,
    local: &Path,
) -> anyhow::Result<String> {
    match aws::s3::parse_uri(&cfg.results) {
        Some((bucket, prefix)) => {
            let key = format!("{}/{name}", prefix.trim_end_matches('/'));
            clients
                .context("no AWS clients")?
                .s3
                .put_file(bucket, &key, local)
                .await?;
            Ok(aws::s3::uri(bucket, &key))
        }
        None => {
            let dir = PathBuf::from(&cfg.results);
            std::fs::create_dir_all(&dir)?;
            let to = dir.join(name);
            // Copied under another name and renamed: a reader never sees
            // half a file.
            let part = dir.join(format!("{name}.part"));
            std::fs::copy(local, &part)
                .and_then(|_| std::fs::rename(&part, &to))
                .with_context(|| format!("copying {} to {}", local.display(), to.display()))?;
            Ok(to.display().to_string())
        }
    }
}

fn gzip(src: &Path, dst: &Path) -> anyhow::Result<()> {
    let mut input = match std::fs::File::open(src) {
        Ok(f) => f,
        // JMeter never started writing: an empty result is still a result.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(src, b"")?;
            std::fs::File::open(src)?
        }
        Err(e) => return Err(e.into()),
    };
    let mut out =
        flate2::write::GzEncoder::new(std::fs::File::create(dst)?, flate2::Compression::default());
    std::io::copy(&mut input, &mut out)?;
    out.finish()?.flush()?;
    Ok(())
}
