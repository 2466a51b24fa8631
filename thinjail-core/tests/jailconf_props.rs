//! Property tests: render → parse gives the same tree; formatting is idempotent; nothing panics.

use proptest::prelude::*;
use thinjail_core::jailconf::{
    ConfFile, Config, Include, Item, JailBlock, Op, Param, Part, Pos, Value, parse, render,
};

fn any_text() -> impl Strategy<Value = String> {
    // Printable ASCII, quotes, backslashes, dollars, braces, controls and some non-ASCII.
    proptest::string::string_regex("[ -~\\t\\n\\r\\x00\\x01\\x7féß€😀]{1,12}").unwrap()
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => "[a-z0-9_./:-]{0,10}".prop_map(Value::lit),
        2 => prop::collection::vec(
            prop_oneof![
                any_text().prop_map(Part::Lit),
                any_text().prop_map(Part::Var),
                "[a-z_][a-z0-9_.]{0,6}".prop_map(Part::Var),
            ],
            1..4
        )
        .prop_map(Value::from_parts),
    ]
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,20}".prop_map(|s| format!("#{}", s.trim_end())),
        "[ -~]{0,20}".prop_map(|s| format!("//{}", s.trim_end())),
        "[ -)+-~\\n]{0,20}".prop_map(|s| format!("/*{s}*/")),
    ]
}

fn param() -> impl Strategy<Value = Param> {
    (
        prop::collection::vec(comment(), 0..2),
        prop_oneof![
            3 => "[a-z][a-z0-9_]{0,5}(\\.[a-z0-9_]{1,5}){0,2}".prop_map(String::from),
            1 => any_text(),
        ],
        any::<bool>(),
        prop_oneof![Just(Op::Bare), Just(Op::Set), Just(Op::Append)],
        prop::collection::vec(value(), 1..4),
    )
        .prop_filter(
            "'.include' is a directive, not a name",
            |(_, n, v, _, _)| *v || n != ".include",
        )
        .prop_map(|(comments, name, is_var, op, values)| Param {
            comments,
            name,
            is_var,
            values: if op == Op::Bare { Vec::new() } else { values },
            op,
            pos: Pos::default(),
        })
}

fn jail_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_*-]{1,6}(\\.[a-zA-Z0-9_*-]{1,6}){0,2}".prop_map(String::from)
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        2 => param().prop_map(Item::Param),
        2 => (
            prop::collection::vec(comment(), 0..2),
            jail_name(),
            prop::collection::vec(param(), 0..5),
            prop::collection::vec(comment(), 0..2),
        )
            .prop_map(|(comments, name, params, trailing_comments)| {
                Item::Jail(JailBlock { comments, name, params, trailing_comments, pos: Pos::default() })
            }),
        1 => (prop::collection::vec(comment(), 0..2), any_text()).prop_map(|(comments, pattern)| {
            Item::Include(Include { comments, pattern, pos: Pos::default() })
        }),
    ]
}

fn conf_file() -> impl Strategy<Value = ConfFile> {
    (
        prop::collection::vec(item(), 0..6),
        prop::collection::vec(comment(), 0..2),
    )
        .prop_map(|(items, trailing_comments)| ConfFile {
            items,
            trailing_comments,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn render_then_parse_is_identity(f in conf_file()) {
        let text = render(&f);
        let back = parse(&text, "gen.conf")
            .map_err(|e| TestCaseError::fail(format!("{e}\n---\n{text}")))?;
        prop_assert_eq!(back.without_positions(), f, "text:\n{}", text);
        // and rendering is stable
        prop_assert_eq!(render(&back), text);
    }

    #[test]
    fn fmt_is_idempotent_and_resolve_never_panics(
        s in proptest::string::string_regex(
            "([a-z.$*{}=;,\"'\\\\/# \\n+]|\\$\\{[a-z]*\\}|/\\*|\\*/|\\+=|dev|\\.include|no){0,40}"
        ).unwrap()
    ) {
        if let Ok(f) = parse(&s, "in.conf") {
            let once = render(&f);
            let again = parse(&once, "fmt.conf")
                .map_err(|e| TestCaseError::fail(format!("{e}\n---\n{once}")))?;
            prop_assert_eq!(render(&again), once.clone());
            prop_assert_eq!(again.without_positions(), f.without_positions());
            if !s.contains(".include") {
                let _ = Config::from_text(&s, "in.conf").and_then(|c| c.resolve());
            }
        }
    }
}
