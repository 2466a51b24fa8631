//! Every kind of bad input gives an error located at file:line:col.

use std::path::Path;
use thinjail_core::jailconf::{Config, parse};
use thinjail_core::model::{ThinJailSpec, VnetStrings};

fn parse_err(text: &str) -> String {
    parse(text, "t.conf").unwrap_err().to_string()
}

fn resolve_err(text: &str) -> String {
    Config::from_text(text, "t.conf")
        .and_then(|c| c.resolve())
        .unwrap_err()
        .to_string()
}

#[test]
fn unterminated_strings_and_comments() {
    assert_eq!(parse_err("a = \"x;\n"), "t.conf:1:5: unterminated string");
    assert_eq!(
        parse_err("dev {\n  a = 'x;\n}\n"),
        "t.conf:2:7: unterminated string"
    );
    assert_eq!(
        parse_err("a;\n/* never\nclosed"),
        "t.conf:2:1: unterminated comment"
    );
    assert_eq!(parse_err("a = \"x\\"), "t.conf:1:5: unterminated string");
}

#[test]
fn bad_variables() {
    assert_eq!(parse_err("a = ${x\n;"), "t.conf:1:5: unterminated variable");
    assert_eq!(
        parse_err("a = \"${x\";"),
        "t.conf:1:6: unterminated variable"
    );
    assert_eq!(
        parse_err("a = ${};"),
        "t.conf:1:5: bad variable: empty name in \"${}\""
    );
    assert_eq!(
        resolve_err("dev {\n  path = \"/j/$nope\";\n}\n"),
        "t.conf:2:3: jail \"dev\": path: variable \"nope\" not found"
    );
    assert_eq!(
        resolve_err("dev { $a = \"${b}\"; $b = \"${a}\"; x = $a; }"),
        "t.conf:1:20: jail \"dev\": b: variable loop through \"a\""
    );
    assert_eq!(
        resolve_err("dev { $l = a, b; x = \"p${l}\"; }"),
        "t.conf:1:18: jail \"dev\": x: array \"l\" cannot be substituted inline"
    );
    assert_eq!(
        resolve_err("dev { $path = x; }"),
        "t.conf:1:7: jail \"dev\": variable \"$path\" cannot have the same name as a parameter"
    );
    assert!(resolve_err("dev { name = other; }").contains("cannot redefine parameter \"name\""));
}

#[test]
fn syntax_errors() {
    assert_eq!(
        parse_err("dev {\n  path = ;\n}"),
        "t.conf:2:10: syntax error: expected a value, found \";\""
    );
    assert_eq!(
        parse_err("a = b\nc = d;"),
        "t.conf:2:1: syntax error: expected \";\" after parameter \"a\", found \"c\""
    );
    assert_eq!(
        parse_err("dev {\n  vnet;\n"),
        "t.conf:1:1: jail \"dev\": missing \"}\" before end of file"
    );
    assert_eq!(parse_err("}"), "t.conf:1:1: syntax error: unexpected \"}\"");
    assert_eq!(
        parse_err("a = é;"),
        "t.conf:1:5: syntax error: unexpected character 'é'"
    );
    assert!(parse_err("dev { inner { } }").starts_with("t.conf:1:13: syntax error: nested"));
}

#[test]
fn invalid_names() {
    assert!(parse_err("\"a b\" { vnet; }").starts_with("t.conf:1:1: invalid jail name \"a b\""));
    assert!(parse_err("\"\" { vnet; }").starts_with("t.conf:1:1: invalid jail name: empty"));
    assert!(parse_err("$x { vnet; }").starts_with("t.conf:1:1: invalid jail name"));
    assert!(parse_err("p\"$x\" = 1;").starts_with("t.conf:1:1: invalid parameter name"));
    assert!(
        resolve_err("dev { }\ndev { }").starts_with("t.conf:2:1: jail \"dev\" is defined twice")
    );
    for (spec, field) in [
        (
            ThinJailSpec {
                name: "a/b".into(),
                ..Default::default()
            },
            "name",
        ),
        (
            ThinJailSpec {
                name: "123".into(),
                ..Default::default()
            },
            "name",
        ),
        (
            ThinJailSpec {
                name: "averyveryverylongname".into(),
                ..Default::default()
            },
            "name",
        ),
        (
            ThinJailSpec {
                pool: "z/data".into(),
                ..Default::default()
            },
            "pool",
        ),
        (
            ThinJailSpec {
                root: "zdata/jails".into(),
                ..Default::default()
            },
            "root",
        ),
        (
            ThinJailSpec {
                root: "/zdata/../etc".into(),
                ..Default::default()
            },
            "root",
        ),
        (
            ThinJailSpec {
                release: "14.2".into(),
                ..Default::default()
            },
            "release",
        ),
        (
            ThinJailSpec {
                arch: "vax".into(),
                ..Default::default()
            },
            "arch",
        ),
        (
            ThinJailSpec {
                devfs_ruleset: 0,
                ..Default::default()
            },
            "devfs_ruleset",
        ),
        (
            ThinJailSpec {
                hostname: "a..b".into(),
                ..Default::default()
            },
            "hostname",
        ),
        (
            ThinJailSpec {
                vnet: Some(VnetStrings {
                    bridge: "bridge-name-too-long".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "bridge",
        ),
        (
            ThinJailSpec {
                vnet: Some(VnetStrings {
                    address: "192.168.7.0/24".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "address",
        ),
        (
            ThinJailSpec {
                vnet: Some(VnetStrings {
                    address: "2001:db8::1/64".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "address",
        ),
        (
            ThinJailSpec {
                vnet: Some(VnetStrings {
                    gateway: "192.168.8.1".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "gateway",
        ),
        (
            ThinJailSpec {
                vnet: Some(VnetStrings {
                    ipv6: Some("x".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "ipv6",
        ),
    ] {
        let e = spec.build().unwrap_err();
        assert_eq!(e.field(), field, "{e}");
        assert!(e.to_string().starts_with(&format!("{field}: ")), "{e}");
    }
}

#[test]
fn include_errors_are_located() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n);
    // missing include: located at the .include line of the including file
    std::fs::write(p("main.conf"), "a = 1;\n  .include \"nope.conf\";\n").unwrap();
    let e = Config::load(&p("main.conf")).unwrap_err();
    assert_eq!(e.file, p("main.conf").display().to_string());
    assert_eq!((e.pos.line, e.pos.col), (2, 3));
    assert!(e.message.contains("no such file"), "{e}");
    // a glob matching nothing is fine (an empty jail.conf.d)
    std::fs::write(p("empty.conf"), ".include \"d/*.conf\";\n").unwrap();
    assert!(Config::load(&p("empty.conf")).unwrap().stmts.is_empty());
    // include loop: a -> b -> a
    std::fs::write(p("a.conf"), ".include \"b.conf\";\n").unwrap();
    std::fs::write(p("b.conf"), "x = 1;\n.include \"a.conf\";\n").unwrap();
    let e = Config::load(&p("a.conf")).unwrap_err();
    assert_eq!(e.file, p("b.conf").display().to_string());
    assert_eq!((e.pos.line, e.pos.col), (2, 1));
    assert!(e.message.contains("include loop"), "{e}");
    // errors inside an included file name that file
    std::fs::create_dir(p("sub")).unwrap();
    std::fs::write(p("sub/bad.conf"), "dev {\n  path = \"x;\n}\n").unwrap();
    std::fs::write(p("top.conf"), ".include \"sub/*.conf\";\n").unwrap();
    let e = Config::load(&p("top.conf")).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{}:2:10: unterminated string", p("sub/bad.conf").display())
    );
    // variables are not allowed in include names
    let e = parse(".include \"$x.conf\";", "t.conf").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("t.conf:1:10: .include: the file name must be a literal")
    );
    // .include inside a jail block
    assert!(parse("dev { .include \"x\"; }", "t.conf").is_err());
    assert!(Config::load(Path::new("/nonexistent/jail.conf")).is_err());
}

#[test]
fn deep_variable_chains_are_an_error_not_a_crash() {
    let mut text = String::from("dev {\n");
    for i in 0..2_000 {
        text.push_str(&format!("  $v{i} = \"${{v{}}}\";\n", i + 1));
    }
    text.push_str("  $v2000 = end;\n  path = \"${v0}\";\n}\n");
    let e = Config::from_text(&text, "deep.conf")
        .and_then(|c| c.resolve())
        .unwrap_err();
    assert!(e.message.contains("nested deeper than"), "{e}");
    // a chain within the limit resolves
    let ok = "dev { $a = \"${b}x\"; $b = \"${c}y\"; $c = z; path = \"/${a}\"; }";
    let j = Config::from_text(ok, "t").unwrap().resolve().unwrap();
    assert_eq!(j[0].scalar("path"), Some("/zyx"));
}
