//! Fuzz the jail.conf(5) parser: no panic, no hang; whatever parses renders to text that parses
//! back to the same tree and renders identically; resolution never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use thinjail_core::jailconf::{Config, parse, render};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(tree) = parse(text, "fuzz.conf") else {
        return;
    };
    let once = render(&tree);
    let back = match parse(&once, "fmt.conf") {
        Ok(b) => b,
        Err(e) => panic!("rendered text does not parse: {e}\n---\n{once}"),
    };
    assert_eq!(back.without_positions(), tree.without_positions(), "\n---\n{once}");
    assert_eq!(render(&back), once);
    // Includes would read the file system; resolve only self-contained input.
    if !text.contains(".include") {
        let _ = Config::from_text(text, "fuzz.conf").and_then(|c| c.resolve());
    }
});
