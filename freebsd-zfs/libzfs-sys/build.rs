//! Link directives for libzfs_core and libnvpair.
//!
//! - FreeBSD: `-lzfs_core -lnvpair` (the base system ships them in /lib). When cross-linking from
//!   another OS, `LIBZFS_SYS_LIB_DIR` names a directory with link-time stand-ins that carry the
//!   real SONAMEs (CI builds them with `.ci/freebsd-stubs.sh`).
//! - Other OSes: nothing is linked unless the `link` feature is on (OpenZFS's libraries, e.g.
//!   Debian's `libzfslinux-dev`), so crates that depend on this one still build on a machine
//!   without ZFS.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBZFS_SYS_LIB_DIR");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let link = os == "freebsd" || std::env::var_os("CARGO_FEATURE_LINK").is_some();
    if !link {
        return;
    }
    if let Some(dir) = std::env::var_os("LIBZFS_SYS_LIB_DIR") {
        println!("cargo:rustc-link-search=native={}", dir.to_string_lossy());
    }
    println!("cargo:rustc-link-lib=dylib=zfs_core");
    println!("cargo:rustc-link-lib=dylib=nvpair");
}
