//! Generated release-like archives for tests and benchmarks: a FreeBSD-shaped tree (`bin`,
//! `etc`, `usr/share/man/man8`, `var/empty` with `schg`, hard links, relative and absolute
//! symlinks) with a lognormal file-size mix of binary-like and text-like content that
//! compresses about 3-5x with xz, written as `base.txz` plus a matching `MANIFEST`.
//!
//! [`raw_entry`] writes arbitrary (also hostile) headers for refusal tests.

use crate::manifest::{Manifest, ManifestEntry};
use crate::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Shape of a generated release tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixtureSpec {
    /// Stop adding generated files once this many bytes of file data are reached.
    pub total_bytes: u64,
    /// Median file size (lognormal).
    pub median_size: u64,
    /// Lognormal sigma (spread of sizes).
    pub sigma: f64,
    /// Largest single file.
    pub max_size: u64,
    /// Share of binary-like files (the rest is text-like), 0.0..=1.0.
    pub binary_share: f64,
    /// PRNG seed (same seed, same archive).
    pub seed: u64,
}

impl FixtureSpec {
    /// A small tree for unit tests (about 2 MB, a few hundred files).
    pub fn small() -> Self {
        FixtureSpec {
            total_bytes: 2 << 20,
            median_size: 3000,
            sigma: 1.3,
            max_size: 256 << 10,
            binary_share: 0.4,
            seed: 7,
        }
    }

    /// A release-sized tree: `total_bytes` of data (a release userland is ~ 200-700 MB).
    pub fn release_like(total_bytes: u64) -> Self {
        FixtureSpec {
            total_bytes,
            median_size: 6000,
            sigma: 1.7,
            max_size: 8 << 20,
            binary_share: 0.45,
            seed: 142,
        }
    }
}

/// How to compress the tar stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// One xz block (`xz -T1`).
    SingleBlock {
        /// xz preset 0-9.
        preset: u32,
    },
    /// Several blocks of `block_size` bytes (`xz -T<threads> --block-size=<block_size>`).
    MultiBlock {
        /// xz preset 0-9.
        preset: u32,
        /// Encoder threads.
        threads: u32,
        /// Uncompressed bytes per block.
        block_size: u64,
    },
}

/// A written fixture release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureRelease {
    /// `<dir>/base.txz`.
    pub archive: PathBuf,
    /// `<dir>/MANIFEST`.
    pub manifest: PathBuf,
    /// sha256 hex of the archive.
    pub sha256: String,
    /// Tar entries written.
    pub entries: u64,
    /// File data bytes (uncompressed, without tar headers).
    pub data_bytes: u64,
    /// Compressed size.
    pub compressed_bytes: u64,
}

/// Files every generated tree contains that tests look at.
pub mod known {
    /// Hard link to `bin/test`.
    pub const HARDLINK: &str = "bin/[";
    /// Absolute symlink (`/usr/share/misc/termcap`).
    pub const ABS_SYMLINK: &str = "etc/termcap";
    /// Relative symlink into `etc` from outside it.
    pub const REL_SYMLINK: &str = "usr/share/misc/os-release";
    /// Directory with `schg` and mode 0555.
    pub const SCHG_DIR: &str = "var/empty";
    /// Setuid file with `schg`, hard-linked as `usr/bin/chfn`.
    pub const SCHG_FILE: &str = "usr/bin/chpass";
    /// Content of `etc/motd.template`.
    pub const MOTD: &[u8] = b"FreeBSD fixture release\n";
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

const MTIME: u64 = 1_733_011_200; // 2024-12-01

fn vocabulary(rng: &mut Rng) -> Vec<Vec<u8>> {
    let syll: &[&[u8]] = &[
        b"ker", b"nel", b"jail", b"net", b"if", b"conf", b"sys", b"ctl", b"pf", b"zfs", b"dev",
        b"ro", b"ute", b"mount", b"fs", b"tab", b"init", b"rc", b"user", b"land", b"lib", b"so",
        b"ex", b"ec", b"pro", b"cess", b"sig", b"nal", b"ti", b"mer",
    ];
    (0..2000)
        .map(|_| {
            let n = 1 + rng.below(3);
            let mut w = Vec::new();
            for _ in 0..n {
                w.extend_from_slice(syll[rng.below(syll.len() as u64) as usize]);
            }
            if rng.below(5) == 0 {
                w.extend_from_slice(format!("{}", rng.below(100)).as_bytes());
            }
            w
        })
        .collect()
}

fn text_content(rng: &mut Rng, vocab: &[Vec<u8>], size: usize, out: &mut Vec<u8>) {
    out.clear();
    while out.len() < size {
        let words = 3 + rng.below(12);
        if rng.below(6) == 0 {
            out.extend_from_slice(b".\\\" ");
        }
        for i in 0..words {
            if i > 0 {
                out.push(b' ');
            }
            // Zipf-ish: low indices far more common.
            let r = rng.unit();
            let idx = ((r * r * r) * vocab.len() as f64) as usize;
            out.extend_from_slice(&vocab[idx.min(vocab.len() - 1)]);
        }
        out.push(b'\n');
    }
    out.truncate(size);
}

fn snippets(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..512)
        .map(|_| {
            let n = 3 + rng.below(14) as usize;
            (0..n).map(|_| (rng.next() >> 24) as u8).collect()
        })
        .collect()
}

fn binary_content(rng: &mut Rng, snips: &[Vec<u8>], size: usize, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(b"\x7fELF\x02\x01\x01\x09");
    while out.len() < size {
        let run = 64 + rng.below(1024) as usize;
        match rng.below(24) {
            // Incompressible (constants, compressed sections).
            0 => {
                for _ in 0..run / 8 {
                    out.extend_from_slice(&rng.next().to_le_bytes());
                }
            }
            // Zero padding / bss-like.
            2 => out.extend(std::iter::repeat_n(0u8, run / 4)),
            // Code-like: recurring instruction sequences with random immediates.
            _ => {
                let end = out.len() + run;
                while out.len() < end {
                    let r = rng.unit();
                    let idx = ((r * r) * snips.len() as f64) as usize;
                    out.extend_from_slice(&snips[idx.min(snips.len() - 1)]);
                    if rng.below(3) == 0 {
                        out.extend_from_slice(&(rng.next() as u16).to_le_bytes());
                    }
                }
            }
        }
    }
    out.truncate(size);
}

/// Appends one entry with a raw (unchecked) path and link name: the way to build hostile
/// archives (`/etc/x`, `../x`, …) that `tar::Builder`'s own path setters refuse.
///
/// ```
/// use thinjail_release::fixture::raw_entry;
/// let mut b = tar::Builder::new(Vec::new());
/// raw_entry(&mut b, tar::EntryType::Regular, b"../evil", b"", 0o644, b"x").unwrap();
/// let bytes = b.into_inner().unwrap();
/// assert_eq!(&bytes[..7], b"../evil");
/// ```
pub fn raw_entry<W: Write>(
    b: &mut tar::Builder<W>,
    kind: tar::EntryType,
    path: &[u8],
    link: &[u8],
    mode: u32,
    data: &[u8],
) -> io::Result<()> {
    let mut h = tar::Header::new_ustar();
    {
        let old = h.as_old_mut();
        if path.len() > old.name.len() || link.len() > old.linkname.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "name too long"));
        }
        old.name[..path.len()].copy_from_slice(path);
        old.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(data.len() as u64);
    h.set_cksum();
    b.append(&h, data)
}

fn pax(b: &mut tar::Builder<impl Write>, path: &str, key: &str, value: &str) -> io::Result<()> {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    let rec = format!("{len}{body}");
    let name = format!("./PaxHeader/{}", path.trim_start_matches("./"));
    raw_entry(
        b,
        tar::EntryType::XHeader,
        name.as_bytes(),
        b"",
        0o644,
        rec.as_bytes(),
    )
}

struct TreeWriter<W: Write> {
    b: tar::Builder<W>,
    entries: u64,
    data: u64,
}

impl<W: Write> TreeWriter<W> {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        kind: tar::EntryType,
        path: &str,
        link: &str,
        mode: u32,
        gid: u64,
        flags: Option<&str>,
        data: &[u8],
    ) -> io::Result<()> {
        if let Some(f) = flags {
            pax(&mut self.b, path, "SCHILY.fflags", f)?;
        }
        let mut h = tar::Header::new_ustar();
        h.set_path(path)?;
        if !link.is_empty() {
            h.set_link_name(link)?;
        }
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(0);
        h.set_gid(gid);
        h.set_username("root")?;
        h.set_groupname(if gid == 0 { "wheel" } else { "operator" })?;
        h.set_mtime(MTIME);
        h.set_size(data.len() as u64);
        h.set_cksum();
        self.b.append(&h, data)?;
        self.entries += 1;
        self.data += data.len() as u64;
        Ok(())
    }
    fn dir(&mut self, path: &str, mode: u32) -> io::Result<()> {
        self.add(tar::EntryType::Directory, path, "", mode, 0, None, b"")
    }
    fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> io::Result<()> {
        self.add(tar::EntryType::Regular, path, "", mode, 0, None, data)
    }
}

const BIN_DIRS: &[&str] = &[
    "./bin",
    "./sbin",
    "./lib",
    "./libexec",
    "./usr/bin",
    "./usr/sbin",
    "./usr/lib",
    "./usr/libexec",
    "./usr/lib/engines-3",
    "./boot/kernel",
    "./usr/lib32",
];
const TEXT_DIRS: &[&str] = &[
    "./etc",
    "./etc/rc.d",
    "./etc/defaults",
    "./etc/mtree",
    "./usr/include",
    "./usr/include/sys",
    "./usr/include/netinet",
    "./usr/share/man/man1",
    "./usr/share/man/man3",
    "./usr/share/man/man5",
    "./usr/share/man/man8",
    "./usr/share/doc/papers",
    "./usr/share/misc",
    "./usr/share/examples/etc",
    "./usr/share/locale/en_US.UTF-8",
    "./usr/share/zoneinfo/Europe",
    "./var/db/etcupdate/current/etc",
];

/// Writes the release-like tree as an uncompressed tar stream. Returns `(entries, data bytes)`.
pub fn write_tar<W: Write>(spec: &FixtureSpec, out: W) -> io::Result<(u64, u64)> {
    let mut rng = Rng(spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let vocab = vocabulary(&mut rng);
    let snips = snippets(&mut rng);
    let mut t = TreeWriter {
        b: tar::Builder::new(out),
        entries: 0,
        data: 0,
    };
    t.dir("./", 0o755)?;
    let mut made: Vec<String> = vec![];
    let mut mkdirs = |t: &mut TreeWriter<W>, p: &str| -> io::Result<()> {
        let mut cur = String::from(".");
        for c in p.trim_start_matches("./").split('/') {
            cur.push('/');
            cur.push_str(c);
            if !made.contains(&cur) {
                let mode = match cur.as_str() {
                    "./tmp" | "./var/tmp" => 0o1777,
                    "./root" => 0o750,
                    _ => 0o755,
                };
                t.dir(&cur, mode)?;
                made.push(cur.clone());
            }
        }
        Ok(())
    };
    for d in BIN_DIRS.iter().chain(TEXT_DIRS) {
        mkdirs(&mut t, d)?;
    }
    for d in [
        "./tmp",
        "./root",
        "./home",
        "./var/log",
        "./var/run",
        "./var/tmp",
        "./dev",
        "./usr/src",
    ] {
        mkdirs(&mut t, d)?;
    }
    t.add(
        tar::EntryType::Directory,
        "./var/empty",
        "",
        0o555,
        0,
        Some("schg"),
        b"",
    )?;
    // Known entries.
    t.file("./etc/motd.template", 0o644, known::MOTD)?;
    t.file(
        "./etc/os-release",
        0o644,
        b"NAME=FreeBSD\nVERSION=\"14.2-RELEASE\"\n",
    )?;
    t.file(
        "./etc/passwd",
        0o644,
        b"root:*:0:0:Charlie &:/root:/bin/sh\n",
    )?;
    t.file(
        "./etc/master.passwd",
        0o600,
        b"root::0:0::0:0:Charlie &:/root:/bin/sh\n",
    )?;
    t.file(
        "./root/.profile",
        0o644,
        b"PATH=/sbin:/bin:/usr/sbin:/usr/bin\n",
    )?;
    t.file(
        "./usr/share/misc/termcap",
        0o644,
        b"xterm|xterm terminal:\\\n",
    )?;
    t.file("./bin/test", 0o555, b"\x7fELF test")?;
    t.file(
        "./bin/freebsd-version",
        0o555,
        b"#!/bin/sh\necho 14.2-RELEASE\n",
    )?;
    t.add(
        tar::EntryType::Link,
        known::HARDLINK,
        "./bin/test",
        0o555,
        0,
        None,
        b"",
    )?;
    t.add(
        tar::EntryType::Regular,
        "./usr/bin/chpass",
        "",
        0o4555,
        0,
        Some("schg"),
        b"\x7fELF chpass",
    )?;
    t.add(
        tar::EntryType::Link,
        "./usr/bin/chfn",
        "./usr/bin/chpass",
        0o4555,
        0,
        Some("schg"),
        b"",
    )?;
    t.add(
        tar::EntryType::Regular,
        "./sbin/shutdown",
        "",
        0o4554,
        5,
        None,
        b"\x7fELF shutdown",
    )?;
    t.add(
        tar::EntryType::Regular,
        "./lib/libc.so.7",
        "",
        0o444,
        0,
        Some("schg"),
        b"\x7fELF libc",
    )?;
    t.add(
        tar::EntryType::Symlink,
        "./etc/termcap",
        "/usr/share/misc/termcap",
        0o755,
        0,
        None,
        b"",
    )?;
    t.add(
        tar::EntryType::Symlink,
        "./usr/share/misc/os-release",
        "../../../etc/os-release",
        0o755,
        0,
        None,
        b"",
    )?;
    t.add(
        tar::EntryType::Symlink,
        "./sys",
        "usr/src/sys",
        0o755,
        0,
        None,
        b"",
    )?;
    t.add(
        tar::EntryType::Symlink,
        "./usr/lib/libc.so",
        "../../lib/libc.so.7",
        0o755,
        0,
        None,
        b"",
    )?;
    // Generated bulk.
    let mu = (spec.median_size.max(1) as f64).ln();
    let mut buf = Vec::new();
    let mut n = 0u64;
    while t.data < spec.total_bytes {
        let size = (mu + spec.sigma * rng.normal())
            .exp()
            .clamp(0.0, spec.max_size as f64) as usize;
        let binary = rng.unit() < spec.binary_share;
        let (dirs, ext, mode) = if binary {
            (BIN_DIRS, "", 0o555)
        } else {
            (TEXT_DIRS, ".txt", 0o444)
        };
        let dir = dirs[rng.below(dirs.len() as u64) as usize];
        if binary {
            binary_content(&mut rng, &snips, size, &mut buf);
        } else {
            text_content(&mut rng, &vocab, size, &mut buf);
        }
        t.file(&format!("{dir}/f{n:05}{ext}"), mode, &buf)?;
        if binary && n.is_multiple_of(10) {
            let link = format!("{dir}/f{n:05}.so");
            t.add(
                tar::EntryType::Symlink,
                &link,
                &format!("f{n:05}"),
                0o755,
                0,
                None,
                b"",
            )?;
        }
        n += 1;
    }
    t.b.finish()?;
    Ok((t.entries, t.data))
}

struct HashWriter<W> {
    inner: W,
    hash: Sha256,
    n: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(b)?;
        self.hash.update(&b[..n]);
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `<dir>/base.txz` and `<dir>/MANIFEST` (which lists it with its sha256 and entry count).
pub fn write_release(dir: &Path, spec: &FixtureSpec, comp: Compression) -> Result<FixtureRelease> {
    let archive = dir.join("base.txz");
    let io = |e| Error::io("write", &archive, e);
    let f = std::fs::File::create(&archive).map_err(io)?;
    let hw = HashWriter {
        inner: io::BufWriter::with_capacity(1 << 20, f),
        hash: Sha256::new(),
        n: 0,
    };
    let stream = match comp {
        Compression::SingleBlock { preset } => {
            liblzma::stream::Stream::new_easy_encoder(preset, liblzma::stream::Check::Crc64)
        }
        Compression::MultiBlock {
            preset,
            threads,
            block_size,
        } => liblzma::stream::MtStreamBuilder::new()
            .threads(threads)
            .block_size(block_size)
            .preset(preset)
            .check(liblzma::stream::Check::Crc64)
            .encoder(),
    }
    .map_err(|e| Error::io("xz encoder", &archive, io::Error::other(e)))?;
    let enc = liblzma::write::XzEncoder::new_stream(hw, stream);
    let mut enc = io::BufWriter::with_capacity(1 << 20, enc);
    let (entries, data_bytes) = write_tar(spec, &mut enc).map_err(io)?;
    let enc = enc.into_inner().map_err(|e| io(e.into_error()))?;
    let mut hw = enc.finish().map_err(io)?;
    hw.flush().map_err(io)?;
    let sha256 = hex::encode(hw.hash.finalize());
    let manifest = dir.join("MANIFEST");
    let m = Manifest {
        entries: vec![ManifestEntry {
            file: "base.txz".into(),
            sha256: sha256.clone(),
            entries,
            dist: "base".into(),
            description: "Base system (MANDATORY)".into(),
            default_on: true,
        }],
    };
    std::fs::write(&manifest, m.render()).map_err(|e| Error::io("write", &manifest, e))?;
    Ok(FixtureRelease {
        archive,
        manifest,
        sha256,
        entries,
        data_bytes,
        compressed_bytes: hw.n,
    })
}
