//! An owned, safe `nvlist_t` from libnvpair (`nvlist_alloc(3)`-family calls).

use libzfs_sys as sys;
use std::ffi::{CStr, CString, c_char};
use std::ptr::NonNull;

/// An nvlist operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("nvlist {call} {name:?}: errno {errno}")]
pub struct NvError {
    /// The libnvpair function.
    pub call: &'static str,
    /// The pair name involved.
    pub name: String,
    /// Its errno (`EINVAL` also for names or strings with NUL bytes).
    pub errno: i32,
}

/// A decoded nvpair value.
#[derive(Debug, Clone, PartialEq)]
pub enum NvValue {
    /// `DATA_TYPE_BOOLEAN`: a name without value (snapshot lists).
    Boolean,
    /// `DATA_TYPE_BOOLEAN_VALUE`.
    BooleanValue(bool),
    /// `DATA_TYPE_INT32` (errno values in lzc error lists).
    I32(i32),
    /// `DATA_TYPE_INT64` (channel program numbers).
    I64(i64),
    /// `DATA_TYPE_UINT64`.
    U64(u64),
    /// `DATA_TYPE_STRING`.
    String(String),
    /// `DATA_TYPE_NVLIST`, decoded.
    List(Vec<(String, NvValue)>),
    /// Any other type, by its `data_type_t`.
    Unsupported(i32),
}

/// An owned `nvlist_t` (`NV_UNIQUE_NAME`), freed with `nvlist_free` on drop.
///
/// ```
/// # #[cfg(target_os = "freebsd")] {
/// use freebsd_zfs::{NvList, NvValue};
/// let mut l = NvList::new().unwrap();
/// l.add_string("mountpoint", "/jails/web").unwrap();
/// l.add_u64("canmount", 2).unwrap();
/// assert_eq!(l.pairs()[1], ("canmount".to_string(), NvValue::U64(2)));
/// # }
/// ```
#[derive(Debug)]
pub struct NvList {
    ptr: NonNull<sys::nvlist_t>,
}

// SAFETY: the nvlist is exclusively owned; libnvpair keeps no thread-local state for it.
unsafe impl Send for NvList {}

fn cstr(call: &'static str, s: &str) -> Result<CString, NvError> {
    CString::new(s).map_err(|_| NvError {
        call,
        name: s.to_string(),
        errno: libc::EINVAL,
    })
}

fn check(call: &'static str, name: &str, rc: i32) -> Result<(), NvError> {
    if rc == 0 {
        Ok(())
    } else {
        Err(NvError {
            call,
            name: name.to_string(),
            errno: rc,
        })
    }
}

impl NvList {
    /// A new empty list with unique names.
    pub fn new() -> Result<Self, NvError> {
        let mut p: *mut sys::nvlist_t = std::ptr::null_mut();
        // SAFETY: nvlist_alloc(3) (libnvpair) writes a new list to `p`; kmflag 0 in userland.
        let rc = unsafe { sys::nvlist_alloc(&mut p, sys::NV_UNIQUE_NAME, 0) };
        check("nvlist_alloc", "", rc)?;
        NonNull::new(p).map(|ptr| Self { ptr }).ok_or(NvError {
            call: "nvlist_alloc",
            name: String::new(),
            errno: libc::ENOMEM,
        })
    }

    /// Takes ownership of a list returned by libzfs_core (e.g. an `errlist`).
    ///
    /// # Safety
    /// `p` is null or a valid `nvlist_t` that nothing else frees.
    pub unsafe fn from_raw(p: *mut sys::nvlist_t) -> Option<Self> {
        NonNull::new(p).map(|ptr| Self { ptr })
    }

    /// The raw pointer (still owned by `self`).
    pub fn as_ptr(&self) -> *mut sys::nvlist_t {
        self.ptr.as_ptr()
    }

    /// `nvlist_add_boolean`: a name without value.
    pub fn add_boolean(&mut self, name: &str) -> Result<(), NvError> {
        let n = cstr("nvlist_add_boolean", name)?;
        // SAFETY: nvlist_add_boolean(3): valid list, NUL-terminated name (copied).
        check("nvlist_add_boolean", name, unsafe {
            sys::nvlist_add_boolean(self.as_ptr(), n.as_ptr())
        })
    }

    /// `nvlist_add_boolean_value`.
    pub fn add_bool(&mut self, name: &str, v: bool) -> Result<(), NvError> {
        let n = cstr("nvlist_add_boolean_value", name)?;
        let b = if v { sys::B_TRUE } else { sys::B_FALSE };
        // SAFETY: nvlist_add_boolean_value(3): valid list, NUL-terminated name (copied).
        check("nvlist_add_boolean_value", name, unsafe {
            sys::nvlist_add_boolean_value(self.as_ptr(), n.as_ptr(), b)
        })
    }

    /// `nvlist_add_string`.
    pub fn add_string(&mut self, name: &str, v: &str) -> Result<(), NvError> {
        let n = cstr("nvlist_add_string", name)?;
        let s = cstr("nvlist_add_string", v)?;
        // SAFETY: nvlist_add_string(3): valid list, NUL-terminated name and value (copied).
        check("nvlist_add_string", name, unsafe {
            sys::nvlist_add_string(self.as_ptr(), n.as_ptr(), s.as_ptr())
        })
    }

    /// `nvlist_add_uint64`.
    pub fn add_u64(&mut self, name: &str, v: u64) -> Result<(), NvError> {
        let n = cstr("nvlist_add_uint64", name)?;
        // SAFETY: nvlist_add_uint64(3): valid list, NUL-terminated name (copied).
        check("nvlist_add_uint64", name, unsafe {
            sys::nvlist_add_uint64(self.as_ptr(), n.as_ptr(), v)
        })
    }

    /// `nvlist_add_int32`.
    pub fn add_i32(&mut self, name: &str, v: i32) -> Result<(), NvError> {
        let n = cstr("nvlist_add_int32", name)?;
        // SAFETY: nvlist_add_int32(3): valid list, NUL-terminated name (copied).
        check("nvlist_add_int32", name, unsafe {
            sys::nvlist_add_int32(self.as_ptr(), n.as_ptr(), v)
        })
    }

    /// `nvlist_add_nvlist`: adds a copy of `v`.
    pub fn add_nvlist(&mut self, name: &str, v: &NvList) -> Result<(), NvError> {
        let n = cstr("nvlist_add_nvlist", name)?;
        // SAFETY: nvlist_add_nvlist(3) copies `v`; both lists are valid.
        check("nvlist_add_nvlist", name, unsafe {
            sys::nvlist_add_nvlist(self.as_ptr(), n.as_ptr(), v.as_ptr())
        })
    }

    /// `nvlist_exists`.
    pub fn contains(&self, name: &str) -> bool {
        let Ok(n) = CString::new(name) else {
            return false;
        };
        // SAFETY: nvlist_exists(3): valid list, NUL-terminated name.
        unsafe { sys::nvlist_exists(self.as_ptr(), n.as_ptr()) != sys::B_FALSE }
    }

    /// All pairs in order, decoded (`nvlist_next_nvpair` iteration).
    pub fn pairs(&self) -> Vec<(String, NvValue)> {
        // SAFETY: `self` is a valid list for the duration of the call.
        unsafe { decode(self.as_ptr()) }
    }

    /// The decoded value of `name`.
    pub fn get(&self, name: &str) -> Option<NvValue> {
        self.pairs()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs().len()
    }

    /// True if the list has no pairs.
    pub fn is_empty(&self) -> bool {
        // SAFETY: nvlist_empty(3): valid list.
        unsafe { sys::nvlist_empty(self.as_ptr()) != sys::B_FALSE }
    }
}

/// Decodes every pair of `l`.
///
/// # Safety
/// `l` is a valid `nvlist_t` that outlives the call.
unsafe fn decode(l: *mut sys::nvlist_t) -> Vec<(String, NvValue)> {
    let mut out = Vec::new();
    let mut p: *mut sys::nvpair_t = std::ptr::null_mut();
    loop {
        // SAFETY: nvlist_next_nvpair(3): valid list, `p` null or a pair of it.
        p = unsafe { sys::nvlist_next_nvpair(l, p) };
        if p.is_null() {
            return out;
        }
        // SAFETY: nvpair_name(3) returns the pair's NUL-terminated name, owned by the list.
        let name = unsafe { CStr::from_ptr(sys::nvpair_name(p)) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: `p` is a valid pair of `l`.
        let v = unsafe { value(p) };
        out.push((name, v));
    }
}

/// Decodes one pair's value.
///
/// # Safety
/// `p` is a valid pair of a live list.
unsafe fn value(p: *mut sys::nvpair_t) -> NvValue {
    // SAFETY: for the whole block: nvpair_type(3) and the nvpair_value_*(3) getters read a valid
    // pair into a local of the matching type; strings and nested lists stay owned by the list.
    unsafe {
        let t = sys::nvpair_type(p);
        match t {
            sys::DATA_TYPE_BOOLEAN => NvValue::Boolean,
            sys::DATA_TYPE_BOOLEAN_VALUE => {
                let mut b: sys::boolean_t = sys::B_FALSE;
                if sys::nvpair_value_boolean_value(p, &mut b) != 0 {
                    return NvValue::Unsupported(t);
                }
                NvValue::BooleanValue(b != sys::B_FALSE)
            }
            sys::DATA_TYPE_INT32 => {
                let mut v = 0i32;
                if sys::nvpair_value_int32(p, &mut v) != 0 {
                    return NvValue::Unsupported(t);
                }
                NvValue::I32(v)
            }
            sys::data_type_t_DATA_TYPE_INT64 => {
                let mut v = 0i64;
                if sys::nvpair_value_int64(p, &mut v) != 0 {
                    return NvValue::Unsupported(t);
                }
                NvValue::I64(v)
            }
            sys::DATA_TYPE_UINT64 => {
                let mut v = 0u64;
                if sys::nvpair_value_uint64(p, &mut v) != 0 {
                    return NvValue::Unsupported(t);
                }
                NvValue::U64(v)
            }
            sys::DATA_TYPE_STRING => {
                let mut s: *mut c_char = std::ptr::null_mut();
                if sys::nvpair_value_string(p, &mut s as *mut *mut c_char as *mut _) != 0
                    || s.is_null()
                {
                    return NvValue::Unsupported(t);
                }
                NvValue::String(CStr::from_ptr(s).to_string_lossy().into_owned())
            }
            sys::DATA_TYPE_NVLIST => {
                let mut l: *mut sys::nvlist_t = std::ptr::null_mut();
                if sys::nvpair_value_nvlist(p, &mut l) != 0 || l.is_null() {
                    return NvValue::Unsupported(t);
                }
                NvValue::List(decode(l))
            }
            other => NvValue::Unsupported(other),
        }
    }
}

impl Drop for NvList {
    fn drop(&mut self) {
        // SAFETY: nvlist_free(3) on the list this value exclusively owns, exactly once.
        unsafe { sys::nvlist_free(self.ptr.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_insert_and_iterate() {
        let mut l = NvList::new().unwrap();
        assert!(l.is_empty());
        l.add_boolean("tank/a@s").unwrap();
        l.add_bool("flag", true).unwrap();
        l.add_string("mountpoint", "/jails/x").unwrap();
        l.add_u64("canmount", 2).unwrap();
        l.add_i32("tank/b@s", libc::EEXIST).unwrap();
        let mut inner = NvList::new().unwrap();
        inner.add_string("thinjail:role", "template").unwrap();
        l.add_nvlist("props", &inner).unwrap();
        drop(inner); // the outer list holds a copy
        assert_eq!(l.len(), 6);
        assert!(l.contains("canmount") && !l.contains("nope"));
        assert_eq!(
            l.pairs(),
            vec![
                ("tank/a@s".to_string(), NvValue::Boolean),
                ("flag".to_string(), NvValue::BooleanValue(true)),
                (
                    "mountpoint".to_string(),
                    NvValue::String("/jails/x".to_string())
                ),
                ("canmount".to_string(), NvValue::U64(2)),
                ("tank/b@s".to_string(), NvValue::I32(libc::EEXIST)),
                (
                    "props".to_string(),
                    NvValue::List(vec![(
                        "thinjail:role".to_string(),
                        NvValue::String("template".to_string())
                    )])
                ),
            ]
        );
    }

    #[test]
    fn unique_names_replace() {
        let mut l = NvList::new().unwrap();
        l.add_u64("x", 1).unwrap();
        l.add_u64("x", 7).unwrap();
        assert_eq!(l.pairs(), vec![("x".to_string(), NvValue::U64(7))]);
    }

    #[test]
    fn nul_in_name_is_an_error() {
        let mut l = NvList::new().unwrap();
        let e = l.add_string("a\0b", "v").unwrap_err();
        assert_eq!(e.errno, libc::EINVAL);
        assert!(l.add_string("ok", "v\0").is_err());
        assert!(l.is_empty());
    }

    #[test]
    fn from_raw_null_is_none() {
        // SAFETY: null is allowed by from_raw's contract.
        assert!(unsafe { NvList::from_raw(std::ptr::null_mut()) }.is_none());
    }

    #[test]
    fn many_lists_freed() {
        // Exercises alloc/free under load (leaks would show in valgrind/ASan runs).
        for i in 0..10_000u64 {
            let mut l = NvList::new().unwrap();
            l.add_u64("i", i).unwrap();
            assert_eq!(l.get("i"), Some(NvValue::U64(i)));
        }
    }
}
