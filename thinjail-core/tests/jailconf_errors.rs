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
}

/// FreeBSD 14's jail(8) (usr.sbin/jail/jailparse.y `jail : jail_name '{' conf '}'`): a nested
/// block is the jail `<parent>.<child>`, added after its parent; it inherits the wildcard
/// blocks that match its name, not its parent's parameters.
#[test]
fn nested_blocks_are_hierarchical_jails() {
    let text = "* { allow.raw_sockets; }\n\
                \"web.*\" { exec.clean; }\n\
                web {\n  path = \"/j/web\";\n  php { path = \"/j/php\"; }\n  persist;\n}\n";
    let jails = Config::from_text(text, "t.conf")
        .unwrap()
        .resolve()
        .unwrap();
    let names: Vec<&str> = jails.iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["web", "web.php"]);
    let web = &jails[0];
    assert_eq!(web.scalar("path"), Some("/j/web"));
    assert!(
        web.get("persist").is_some(),
        "a parameter after the nested block stays web's"
    );
    assert!(web.get("exec.clean").is_none(), "web does not match web.*");
    let php = &jails[1];
    assert_eq!(php.scalar("path"), Some("/j/php"));
    assert!(
        php.get("persist").is_none(),
        "no inheritance from the parent block"
    );
    assert!(
        php.get("exec.clean").is_some(),
        "the matching wildcard applies"
    );
    assert!(php.get("allow.raw_sockets").is_some());
}

/// jaillex.l: unquoted strings do not contain '*', which lexes alone, so `build.* {` is two
/// tokens where jailparse.y wants one (`jail_name : STR`); quoted it is one.
#[test]
fn an_unquoted_partial_wildcard_is_not_a_jail_name() {
    assert!(
        parse_err("build.* { vnet; }")
            .starts_with("t.conf:1:1: invalid jail name build.*: a jail name is one token"),
        "{}",
        parse_err("build.* { vnet; }")
    );
    assert!(parse("\"build.*\" { vnet; }", "t.conf").is_ok());
    assert!(parse("* { vnet; }", "t.conf").is_ok());
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
