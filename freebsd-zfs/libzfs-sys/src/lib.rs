//! Raw FFI declarations for libzfs_core and libnvpair (OpenZFS), as FreeBSD ships them in `/lib`.
//!
//! These are the C functions exactly; the safe API lives in `freebsd-zfs`.
#![allow(non_camel_case_types)]

use libc::{c_int, c_uint};

/// Opaque `nvlist_t`.
#[repr(C)]
pub struct nvlist_t {
    _private: [u8; 0],
}

/// `NV_UNIQUE_NAME`: names in the list are unique.
pub const NV_UNIQUE_NAME: c_uint = 0x1;

unsafe extern "C" {
    /// `int libzfs_core_init(void)`: opens `/dev/zfs`; returns 0 or an errno.
    pub fn libzfs_core_init() -> c_int;
    /// `void libzfs_core_fini(void)`.
    pub fn libzfs_core_fini();
    /// `int nvlist_alloc(nvlist_t **nvlp, uint_t nvflag, int kmflag)`.
    pub fn nvlist_alloc(nvlp: *mut *mut nvlist_t, nvflag: c_uint, kmflag: c_int) -> c_int;
    /// `void nvlist_free(nvlist_t *nvl)`.
    pub fn nvlist_free(nvl: *mut nvlist_t);
}
