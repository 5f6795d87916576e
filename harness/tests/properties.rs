//! Property tests: scenario files generated from their grammar, then mutated, never make the
//! loader panic, and every problem it finds is placed in the file. No engine needed.
//!
//! `cargo test` runs a few hundred cases; the long run is
//! `PROPTEST_CASES=10000 cargo test -p shutdown-harness --test properties --release`.

use std::path::Path;

use proptest::prelude::*;
use shutdown_harness::ScenarioFileError;
use shutdown_harness::scenario_file::parse;

/// A value of a setting: mostly valid, sometimes not.
fn setting() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "\"dash\"",
            "\"bash\"",
            "\"busybox\"",
            "\"none\"",
            "\"alpine\""
        ])
        .prop_map(|v| format!("base = {v}")),
        prop::sample::select(vec![
            "\"shell-form\"",
            "\"exec-form\"",
            "\"tini\"",
            "\"script-exec\"",
            "\"nope\""
        ])
        .prop_map(|v| format!("variant = {v}")),
        prop::sample::select(vec!["\"graceful\"", "\"abrupt\"", "\"unhandled\"", "3"])
            .prop_map(|v| format!("mode = {v}")),
        duration().prop_map(|v| format!("delay = {v}")),
        duration().prop_map(|v| format!("stop-timeout = {v}")),
        duration().prop_map(|v| format!("stop-at = {v}")),
        duration().prop_map(|v| format!("drain-timeout = {v}")),
        prop::sample::select(vec!["\"SIGTERM\"", "\"INT\"", "\"SIGKILL\"", "\"15\""])
            .prop_map(|v| format!("stop-signal = {v}")),
        prop::sample::select(vec!["true", "false", "\"yes\""]).prop_map(|v| format!("init = {v}")),
        prop::sample::select(vec!["\"container\"", "\"process\"", "\"vm\""])
            .prop_map(|v| format!("target = {v}")),
        prop::sample::select(vec![
            "[\"SIGINT\"]",
            "\"SIGTERM\"",
            "[]",
            "[[\"SIGINT\"], [\"SIGTERM\"]]"
        ])
        .prop_map(|v| format!("signals = {v}")),
    ]
}

fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        "\"[0-9]{1,4}(ms|s|m)\"",
        "\"[0-9]{1,3}\\.[0-9]{1,2}s\"",
        Just("\"1e20s\"".to_string()),
        Just("\"-1s\"".to_string()),
        Just("\"99999999999999999999h\"".to_string()),
    ]
}

fn request() -> impl Strategy<Value = String> {
    (
        "[a-z-]{1,10}",
        prop_oneof![
            "[-+]?[0-9]{1,5}(ms|s)",
            Just("1e30s".to_string()),
            Just("soon".to_string())
        ],
        prop_oneof![
            Just(String::new()),
            duration().prop_map(|d| format!(", delay = {d}")),
            (0i64..1 << 31, -5i64..1 << 31)
                .prop_map(|(b, r)| format!(", download = {{ bytes = {b}, rate = {r} }}")),
        ],
    )
        .prop_map(|(name, at, extra)| format!("{{ name = \"{name}\", at = \"{at}\"{extra} }}"))
}

fn expect() -> impl Strategy<Value = String> {
    (
        "[a-z-]{1,10}",
        prop::sample::select(vec!["ok", "not-served", "reset", "maybe"]),
        prop::option::of(-300i64..300),
    )
        .prop_map(|(name, word, code)| {
            let code = code
                .map(|c| format!(", exit-code = {c}"))
                .unwrap_or_default();
            format!("expect = {{ requests = {{ {name} = \"{word}\" }}{code} }}")
        })
}

/// A whole file: `[defaults]`, scenarios and matrices, in the grammar of scenario files.
fn file() -> impl Strategy<Value = String> {
    let table = |header: &'static str| {
        (
            prop::collection::vec(setting(), 0..6),
            prop::collection::vec(request(), 0..3),
            prop::option::of(expect()),
            "[a-z/{}-]{0,20}",
        )
            .prop_map(move |(settings, requests, expect, name)| {
                let mut text = format!("{header}\nname = \"{name}\"\n");
                for s in settings {
                    text.push_str(&s);
                    text.push('\n');
                }
                if !requests.is_empty() {
                    text.push_str(&format!("requests = [{}]\n", requests.join(", ")));
                }
                if let Some(e) = expect {
                    text.push_str(&e);
                    text.push('\n');
                }
                text
            })
    };
    (
        prop::collection::vec(setting(), 0..4),
        prop::collection::vec(
            prop_oneof![table("[[scenario]]"), table("[[matrix]]")],
            0..4,
        ),
    )
        .prop_map(|(defaults, tables)| {
            let mut text = String::from("[defaults]\n");
            for d in defaults {
                text.push_str(&d);
                text.push('\n');
            }
            for t in tables {
                text.push_str(&t);
            }
            text
        })
}

/// A file with a few random edits: characters deleted, inserted or replaced.
fn mutated() -> impl Strategy<Value = String> {
    (
        file(),
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, "\\PC{0,3}"), 0..4),
    )
        .prop_map(|(text, edits)| {
            let mut chars: Vec<char> = text.chars().collect();
            for (at, kind, insert) in edits {
                if chars.is_empty() {
                    break;
                }
                let at = at.index(chars.len());
                match kind {
                    0 => {
                        chars.remove(at);
                    }
                    1 => {
                        for (i, c) in insert.chars().enumerate() {
                            chars.insert(at + i, c);
                        }
                    }
                    _ => {
                        if let Some(c) = insert.chars().next() {
                            chars[at] = c;
                        }
                    }
                }
            }
            chars.into_iter().collect()
        })
}

/// Parses `text` and checks that every problem is placed inside it.
fn check(text: &str) -> Result<(), TestCaseError> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness is in the workspace");
    let path = workspace.join("scenarios/generated.toml");
    match parse(workspace, &path, text) {
        Ok(scenarios) => {
            for scenario in &scenarios {
                prop_assert!(!scenario.requests.is_empty());
                prop_assert!(scenario.stop.timeout <= shutdown_harness::engine::MAX_STOP_TIMEOUT);
            }
        }
        Err(ScenarioFileError::Invalid { diagnostics }) => {
            prop_assert!(!diagnostics.is_empty());
            let lines = text.lines().count() + 1;
            for diagnostic in &diagnostics {
                prop_assert_eq!(&diagnostic.file, "scenarios/generated.toml");
                if let Some((line, column)) = diagnostic.position {
                    prop_assert!(line >= 1 && line <= lines, "{diagnostic}");
                    prop_assert!(column >= 1, "{diagnostic}");
                }
                prop_assert!(!diagnostic.message.is_empty());
            }
        }
        Err(other) => prop_assert!(false, "unexpected error {other}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(300)
    ))]

    #[test]
    fn generated_scenario_files_load_or_say_where(text in file()) {
        check(&text)?;
    }

    #[test]
    fn mutated_scenario_files_load_or_say_where(text in mutated()) {
        check(&text)?;
    }
}
