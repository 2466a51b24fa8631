//! Fetcher against a loopback HTTP server started in the test (127.0.0.1 only).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use thinjail_release::fetch::{Fetcher, sha256_file, use_local};
use thinjail_release::fixture::{self, Compression, FixtureSpec};
use thinjail_release::{Arch, Error, Release};

/// Serves `/releases/amd64/amd64/14.2-RELEASE/{MANIFEST,base.txz}` with Range support.
/// Behaviour of base.txz is switched per request by `mode`:
/// "full", "truncate" (announce full length, send half, close), "corrupt" (flip a byte),
/// "norange" (ignore Range).
struct Server {
    url: String,
    mode: Arc<Mutex<&'static str>>,
    log: Arc<Mutex<Vec<String>>>,
}

fn serve(manifest: Vec<u8>, archive: Vec<u8>) -> Server {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let mode = Arc::new(Mutex::new("full"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (m2, log2) = (mode.clone(), log.clone());
    std::thread::spawn(move || {
        // Bounded: at most 64 connections, then the thread ends.
        for conn in l.incoming().take(64) {
            let Ok(mut s) = conn else { break };
            s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut range: Option<u64> = None;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    range = v.trim().trim_end_matches('-').parse().ok();
                }
            }
            let mode = *m2.lock().unwrap();
            log2.lock()
                .unwrap()
                .push(format!("{path} {range:?} {mode}"));
            let body: Vec<u8> = if path.ends_with("/MANIFEST") {
                manifest.clone()
            } else if path.ends_with("/base.txz") {
                let mut a = archive.clone();
                if mode == "corrupt" {
                    a[100] ^= 1;
                }
                a
            } else {
                let _ = s.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            };
            let total = body.len() as u64;
            let (status, start) = match range {
                Some(st) if mode != "norange" && path.ends_with("/base.txz") => {
                    if st >= total {
                        let _ = write!(
                            s,
                            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{total}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        );
                        continue;
                    }
                    ("206 Partial Content", st)
                }
                _ => ("200 OK", 0),
            };
            let slice = &body[start as usize..];
            let mut head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
                slice.len()
            );
            if start > 0 {
                head += &format!("Content-Range: bytes {start}-{}/{total}\r\n", total - 1);
            }
            head += "\r\n";
            let _ = s.write_all(head.as_bytes());
            let send = if mode == "truncate" && path.ends_with("/base.txz") {
                &slice[..slice.len() / 2]
            } else {
                slice
            };
            let _ = s.write_all(send);
            let _ = s.flush();
        }
    });
    Server { url, mode, log }
}

fn setup() -> (tempfile::TempDir, fixture::FixtureRelease, Server) {
    let dir = tempfile::tempdir().unwrap();
    let rel = dir.path().join("rel");
    fs::create_dir(&rel).unwrap();
    let fx = fixture::write_release(
        &rel,
        &FixtureSpec::small(),
        Compression::SingleBlock { preset: 0 },
    )
    .unwrap();
    let srv = serve(
        fs::read(&fx.manifest).unwrap(),
        fs::read(&fx.archive).unwrap(),
    );
    (dir, fx, srv)
}

fn nothing_at(dest: &Path) {
    assert!(!dest.exists(), "nothing at the destination");
}

#[test]
fn download_verify_resume_and_refuse() {
    let (dir, fx, srv) = setup();
    let r: Release = "14.2-RELEASE".parse().unwrap();
    let f = Fetcher::new().progress(false);
    let dest = dir.path().join("14.2-RELEASE-base.txz");
    let part = dir.path().join("14.2-RELEASE-base.txz.part");

    // Truncated: refused, nothing at dest, partial kept.
    *srv.mode.lock().unwrap() = "truncate";
    let e = f
        .fetch_release(&srv.url, &r, &Arch::AMD64, "base.txz", &dest)
        .unwrap_err();
    assert!(
        matches!(e, Error::Truncated { .. } | Error::Download { .. }),
        "{e}"
    );
    nothing_at(&dest);
    let have = fs::metadata(&part).unwrap().len();
    assert!(have > 0 && have < fx.compressed_bytes);

    // Resume with Range completes it.
    *srv.mode.lock().unwrap() = "full";
    let rep = f
        .fetch_release(&srv.url, &r, &Arch::AMD64, "base.txz", &dest)
        .unwrap();
    assert_eq!(rep.resumed_from, have);
    assert_eq!(rep.downloaded, fx.compressed_bytes - have);
    assert_eq!(rep.sha256, fx.sha256);
    assert_eq!(sha256_file(&dest).unwrap(), fx.sha256);
    assert!(!part.exists());
    assert!(
        srv.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains(&format!("Some({have})")))
    );

    // Present already: nothing downloaded.
    let rep = f
        .fetch_release(&srv.url, &r, &Arch::AMD64, "base.txz", &dest)
        .unwrap();
    assert!(rep.already_present);

    // MANIFEST mismatch (served file corrupted): refused, nothing left anywhere.
    fs::remove_file(&dest).unwrap();
    *srv.mode.lock().unwrap() = "corrupt";
    let e = f
        .fetch_release(&srv.url, &r, &Arch::AMD64, "base.txz", &dest)
        .unwrap_err();
    assert!(matches!(e, Error::ChecksumMismatch { .. }), "{e}");
    nothing_at(&dest);
    assert!(!part.exists());

    // A server that ignores Range: start over from 0, still correct.
    fs::write(&part, b"garbage that is not the archive").unwrap();
    *srv.mode.lock().unwrap() = "norange";
    let rep = f
        .fetch_release(&srv.url, &r, &Arch::AMD64, "base.txz", &dest)
        .unwrap();
    assert_eq!(rep.resumed_from, 0);
    assert_eq!(sha256_file(&dest).unwrap(), fx.sha256);

    // A stale, wrong partial as long as the file: 416 -> discarded -> fresh download.
    fs::remove_file(&dest).unwrap();
    fs::write(&part, vec![0u8; fx.compressed_bytes as usize]).unwrap();
    *srv.mode.lock().unwrap() = "full";
    f.fetch_release(&srv.url, &r, &Arch::AMD64, "base.txz", &dest)
        .unwrap();
    assert_eq!(sha256_file(&dest).unwrap(), fx.sha256);

    // 404 is an error naming the URL.
    let e = f
        .fetch_release(&srv.url, &r, &Arch::AMD64, "nope.txz", &dest)
        .unwrap_err();
    assert!(matches!(e, Error::NotInManifest { .. }), "{e}");
    let e = f
        .fetch_verified(
            &format!("{}/missing", srv.url),
            &dir.path().join("m"),
            &fx.sha256,
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("/missing") && e.to_string().contains("404"),
        "{e}"
    );
}

#[test]
fn offline_local_archive() {
    let (dir, fx, _srv) = setup();
    let dest = dir.path().join("media.txz");
    let rep = use_local(&fx.archive, Some(&fx.manifest), "base.txz", &dest).unwrap();
    assert_eq!(rep.sha256, fx.sha256);
    assert_eq!(sha256_file(&dest).unwrap(), fx.sha256);
    // Same file: verified in place.
    assert!(
        use_local(&dest, Some(&fx.manifest), "base.txz", &dest)
            .unwrap()
            .already_present
    );
    // Mismatch against the MANIFEST: refused, nothing installed.
    let bad = dir.path().join("bad.txz");
    let mut data = fs::read(&fx.archive).unwrap();
    data[10] ^= 0x55;
    fs::write(&bad, data).unwrap();
    let dest2 = dir.path().join("media2.txz");
    let e = use_local(&bad, Some(&fx.manifest), "base.txz", &dest2).unwrap_err();
    assert!(matches!(e, Error::ChecksumMismatch { .. }), "{e}");
    nothing_at(&dest2);
    assert!(!dir.path().join("media2.txz.part").exists());
    // Without a MANIFEST it is installed unverified-by-manifest (sha reported).
    let rep = use_local(&bad, None, "base.txz", &dest2).unwrap();
    assert_ne!(rep.sha256, fx.sha256);
}
