//! Verified downloads of release files: HTTP(S) with a progress bar (indicatif), resume of a
//! partial download with `Range`, and a temporary `<dest>.part` that is renamed to `<dest>`
//! only after its sha256 matches the MANIFEST. Offline: [`use_local`] verifies and installs a
//! local archive instead.
//!
//! What is left behind on failure: nothing at `<dest>`. A transfer cut short keeps
//! `<dest>.part` so the next call resumes it; a checksum mismatch removes it.

use crate::manifest::Manifest;
use crate::{Arch, Error, Release, Result};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    /// The verified file.
    pub dest: PathBuf,
    /// Its sha256 (hex), equal to the MANIFEST's.
    pub sha256: String,
    /// Bytes transferred by this call (0 when the file was already present or local).
    pub downloaded: u64,
    /// Offset a partial download was resumed from (0 = fresh).
    pub resumed_from: u64,
    /// `dest` already existed with the right checksum; nothing was done.
    pub already_present: bool,
}

/// sha256 (hex) of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

fn sync_parent(path: &Path) {
    if let Some(p) = path.parent().and_then(|p| File::open(p).ok()) {
        let _ = p.sync_all();
    }
}

fn install(part: &Path, dest: &Path) -> Result<()> {
    std::fs::rename(part, dest).map_err(|e| Error::io("rename", dest, e))?;
    sync_parent(dest);
    Ok(())
}

/// Verifies a local archive against a local MANIFEST (when given) and installs it at `dest`
/// (copy to `<dest>.part`, rename). `file` is the MANIFEST name to check (e.g. `base.txz`).
/// When `archive` and `dest` are the same file it is only verified.
///
/// ```no_run
/// use thinjail_release::fetch::use_local;
/// let rep = use_local("/media/base.txz".as_ref(), Some("/media/MANIFEST".as_ref()),
///     "base.txz", "/zdata/jails/media/14.2-RELEASE-base.txz".as_ref())?;
/// # Ok::<(), thinjail_release::Error>(())
/// ```
pub fn use_local(
    archive: &Path,
    manifest: Option<&Path>,
    file: &str,
    dest: &Path,
) -> Result<FetchReport> {
    let expected = match manifest {
        Some(m) => Some(Manifest::read(m)?.require(file)?.sha256.clone()),
        None => None,
    };
    let actual = sha256_file(archive)?;
    if let Some(exp) = &expected
        && *exp != actual
    {
        return Err(Error::ChecksumMismatch {
            path: archive.to_path_buf(),
            expected: exp.clone(),
            actual,
        });
    }
    let same = match (std::fs::canonicalize(archive), std::fs::canonicalize(dest)) {
        (Ok(a), Ok(d)) => a == d,
        _ => false,
    };
    if !same {
        let part = part_path(dest);
        let copy = (|| -> io::Result<()> {
            let mut src = File::open(archive)?;
            let mut out = File::create(&part)?;
            io::copy(&mut src, &mut out)?;
            out.sync_all()
        })();
        if let Err(e) = copy {
            let _ = std::fs::remove_file(&part);
            return Err(Error::io("copy", dest, e));
        }
        // The copy could have changed under us; check what we are about to install.
        let copied = sha256_file(&part)?;
        if copied != actual {
            let _ = std::fs::remove_file(&part);
            return Err(Error::ChecksumMismatch {
                path: dest.to_path_buf(),
                expected: actual,
                actual: copied,
            });
        }
        install(&part, dest)?;
    }
    Ok(FetchReport {
        dest: dest.to_path_buf(),
        sha256: actual,
        downloaded: 0,
        resumed_from: 0,
        already_present: same,
    })
}

/// HTTP(S) fetcher (ureq) with optional progress bar.
#[derive(Debug, Clone)]
pub struct Fetcher {
    agent: ureq::Agent,
    progress: bool,
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Fetcher {
    /// A fetcher with a 30 s connect timeout and a 60 s per-read timeout, progress bar on
    /// (drawn on stderr only when it is a terminal).
    pub fn new() -> Self {
        let cfg = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build();
        Fetcher {
            agent: ureq::Agent::new_with_config(cfg),
            progress: true,
        }
    }

    /// Turns the progress bar on or off.
    pub fn progress(mut self, on: bool) -> Self {
        self.progress = on;
        self
    }

    fn get(&self, url: &str, from: u64) -> Result<ureq::http::Response<ureq::Body>> {
        let mut req = self.agent.get(url).header("Accept-Encoding", "identity");
        if from > 0 {
            req = req.header("Range", format!("bytes={from}-"));
        }
        req.call().map_err(|e| Error::Download {
            url: url.to_string(),
            reason: e.to_string(),
        })
    }

    /// Downloads a small text file (a MANIFEST), at most 1 MiB.
    pub fn fetch_text(&self, url: &str) -> Result<String> {
        let mut resp = self.get(url, 0)?;
        if resp.status().as_u16() != 200 {
            return Err(Error::Download {
                url: url.to_string(),
                reason: format!("HTTP status {}", resp.status()),
            });
        }
        resp.body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .map_err(|e| Error::Download {
                url: url.to_string(),
                reason: e.to_string(),
            })
    }

    /// Downloads `MANIFEST` and `file` of a release from `mirror` into `dest`, verified.
    pub fn fetch_release(
        &self,
        mirror: &str,
        release: &Release,
        arch: &Arch,
        file: &str,
        dest: &Path,
    ) -> Result<FetchReport> {
        let manifest =
            Manifest::parse(&self.fetch_text(&release.dist_url(mirror, arch, "MANIFEST"))?)?;
        let sha = manifest.require(file)?.sha256.clone();
        self.fetch_verified(&release.dist_url(mirror, arch, file), dest, &sha)
    }

    /// Downloads `url` to `dest`, resuming `<dest>.part` when present, and renames it into
    /// place only when its sha256 equals `sha256` (hex). If `dest` already has that checksum
    /// nothing is downloaded.
    pub fn fetch_verified(&self, url: &str, dest: &Path, sha256: &str) -> Result<FetchReport> {
        let sha256 = sha256.to_ascii_lowercase();
        if dest.exists() && sha256_file(dest)? == sha256 {
            return Ok(FetchReport {
                dest: dest.to_path_buf(),
                sha256,
                downloaded: 0,
                resumed_from: 0,
                already_present: true,
            });
        }
        let part = part_path(dest);
        let mut retried = false;
        loop {
            let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            let resp = self.get(url, have)?;
            let status = resp.status().as_u16();
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let (start, total) = match status {
                200 => (
                    0,
                    header("content-length").and_then(|v| v.parse::<u64>().ok()),
                ),
                206 => {
                    // Content-Range: bytes <start>-<end>/<total>
                    let cr = header("content-range").unwrap_or_default();
                    let parsed = cr.strip_prefix("bytes ").and_then(|r| {
                        let (range, total) = r.split_once('/')?;
                        let (s, _) = range.split_once('-')?;
                        Some((s.parse::<u64>().ok()?, total.parse::<u64>().ok()))
                    });
                    match parsed {
                        Some((s, t)) if s == have => (s, t),
                        _ => {
                            return Err(Error::Download {
                                url: url.to_string(),
                                reason: format!("bad Content-Range {cr:?} for resume at {have}"),
                            });
                        }
                    }
                }
                416 if have > 0 && !retried => {
                    // Nothing more to send: the partial file may be complete, or garbage.
                    drop(resp);
                    if sha256_file(&part)? == sha256 {
                        install(&part, dest)?;
                        return Ok(FetchReport {
                            dest: dest.to_path_buf(),
                            sha256,
                            downloaded: 0,
                            resumed_from: have,
                            already_present: false,
                        });
                    }
                    let _ = std::fs::remove_file(&part);
                    retried = true;
                    continue;
                }
                s => {
                    return Err(Error::Download {
                        url: url.to_string(),
                        reason: format!("HTTP status {s}"),
                    });
                }
            };
            let mut out = OpenOptions::new()
                .create(true)
                .write(true)
                .read(true)
                .truncate(false)
                .open(&part)
                .map_err(|e| Error::io("open", &part, e))?;
            let mut hash = Sha256::new();
            if start > 0 {
                // Hash what we already have.
                let mut buf = vec![0u8; 1 << 20];
                let mut left = start;
                while left > 0 {
                    let n = out
                        .read(&mut buf[..(left.min(1 << 20) as usize)])
                        .map_err(|e| Error::io("read", &part, e))?;
                    if n == 0 {
                        break;
                    }
                    hash.update(&buf[..n]);
                    left -= n as u64;
                }
            } else {
                out.set_len(0)
                    .map_err(|e| Error::io("truncate", &part, e))?;
            }
            out.seek(io::SeekFrom::Start(start))
                .map_err(|e| Error::io("seek", &part, e))?;
            let expected_total = total.map(|t| if status == 200 { t } else { t.max(start) });
            let bar = if self.progress {
                let b = indicatif::ProgressBar::new(expected_total.unwrap_or(0));
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b.set_message(
                    dest.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
                b.set_position(start);
                b
            } else {
                indicatif::ProgressBar::hidden()
            };
            let mut body = resp.into_body().into_reader();
            let mut buf = vec![0u8; 256 * 1024];
            let mut got = start;
            let read_err = loop {
                match body.read(&mut buf) {
                    Ok(0) => break None,
                    Ok(n) => {
                        out.write_all(&buf[..n])
                            .map_err(|e| Error::io("write", &part, e))?;
                        hash.update(&buf[..n]);
                        got += n as u64;
                        bar.set_position(got);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Some(e),
                }
            };
            bar.finish_and_clear();
            out.sync_all().map_err(|e| Error::io("fsync", &part, e))?;
            drop(out);
            if let Some(exp) = expected_total
                && got < exp
            {
                return Err(Error::Truncated {
                    url: url.to_string(),
                    got,
                    expected: exp,
                    partial: part,
                });
            }
            if let Some(e) = read_err {
                return Err(Error::Download {
                    url: url.to_string(),
                    reason: format!("{e} (partial kept at {})", part.display()),
                });
            }
            let actual = hex::encode(hash.finalize());
            if actual != sha256 {
                let _ = std::fs::remove_file(&part);
                return Err(Error::ChecksumMismatch {
                    path: dest.to_path_buf(),
                    expected: sha256,
                    actual,
                });
            }
            install(&part, dest)?;
            return Ok(FetchReport {
                dest: dest.to_path_buf(),
                sha256,
                downloaded: got - start,
                resumed_from: start,
                already_present: false,
            });
        }
    }
}
