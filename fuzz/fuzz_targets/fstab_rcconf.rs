//! Fuzz the fstab(5) and rc.conf(5) codecs: no panic; fstab entries survive render → parse;
//! rc.conf set/get round-trips any value it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use thinjail_core::fstab::Fstab;
use thinjail_core::rcconf::RcConf;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(f) = Fstab::parse(text, "fuzz.fstab") {
        let again = Fstab::parse(&f.render(), "r.fstab").expect("rendered fstab parses");
        let a: Vec<_> = f.entries().collect();
        let b: Vec<_> = again.entries().collect();
        assert_eq!(a, b);
    }
    let mut rc = RcConf::parse(text);
    let _ = rc.get("jail_list");
    let value = text.lines().next().unwrap_or("");
    if rc.set("jail_list", value).is_ok() {
        assert_eq!(rc.get("jail_list").as_deref(), Some(value));
        let _ = rc.append_to_list("jail_list", "dev");
    }
});
