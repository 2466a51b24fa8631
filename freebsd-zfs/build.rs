//! Turns libzfs-sys's link metadata into `cfg(zfs_ffi)`: the libzfs_core/libnvpair code
//! (`NvList`, `Lzc`) is compiled only when those libraries are linked (always on FreeBSD;
//! elsewhere with `--features libzfs-sys/link`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(zfs_ffi)");
    println!("cargo:rerun-if-env-changed=DEP_ZFS_CORE_LINKED");
    if std::env::var("DEP_ZFS_CORE_LINKED").as_deref() == Ok("1") {
        println!("cargo:rustc-cfg=zfs_ffi");
    }
}
