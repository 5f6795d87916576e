//! Settings with their places in the file: values as written, merged expectations, and the keys.

use std::collections::BTreeMap;
use std::ops::Range;

use super::doc::{ExpectDoc, OneOrMany, RequestDoc, SignalsDoc, Sp};

/// The settings a scenario or matrix cell is made of, as written in files (`requests` aside).
pub(super) const SETTING_KEYS: [&str; 11] = [
    "target",
    "base",
    "variant",
    "init",
    "mode",
    "delay",
    "signals",
    "drain-timeout",
    "stop-signal",
    "stop-timeout",
    "stop-at",
];

/// One value of a setting, with where it was written.
#[derive(Debug, Clone)]
pub(super) enum Val {
    Str(Sp<String>),
    Bool(Sp<bool>),
    Signals(Sp<Vec<Sp<String>>>),
}

impl Val {
    pub(super) fn span(&self) -> Range<usize> {
        match self {
            Val::Str(v) => v.span(),
            Val::Bool(v) => v.span(),
            Val::Signals(v) => v.span(),
        }
    }
}

/// A setting as written: one value, or a list (an axis in a matrix).
#[derive(Debug, Clone)]
pub(super) struct Setting {
    pub(super) key: &'static str,
    pub(super) span: Range<usize>,
    pub(super) values: Vec<Val>,
    pub(super) list: bool,
}

impl Setting {
    pub(super) fn push_str(
        out: &mut Vec<Setting>,
        key: &'static str,
        doc: Option<Sp<OneOrMany<String>>>,
    ) {
        Self::push(out, key, doc, Val::Str);
    }

    pub(super) fn push_bool(
        out: &mut Vec<Setting>,
        key: &'static str,
        doc: Option<Sp<OneOrMany<bool>>>,
    ) {
        Self::push(out, key, doc, Val::Bool);
    }

    fn push<T>(
        out: &mut Vec<Setting>,
        key: &'static str,
        doc: Option<Sp<OneOrMany<T>>>,
        wrap: fn(Sp<T>) -> Val,
    ) {
        let Some(doc) = doc else { return };
        let span = doc.span();
        let (values, list) = match doc.into_inner() {
            OneOrMany::One(v) => (vec![wrap(Sp::new(span.clone(), v))], false),
            OneOrMany::Many(vs) => (vs.into_iter().map(wrap).collect(), true),
        };
        out.push(Setting {
            key,
            span,
            values,
            list,
        });
    }

    pub(super) fn signals(doc: Option<Sp<SignalsDoc>>) -> Option<Setting> {
        let doc = doc?;
        let span = doc.span();
        let (values, list) = match doc.into_inner() {
            SignalsDoc::Single(s) => (
                vec![Val::Signals(Sp::new(
                    span.clone(),
                    vec![Sp::new(span.clone(), s)],
                ))],
                false,
            ),
            SignalsDoc::One(names) => (vec![Val::Signals(Sp::new(span.clone(), names))], false),
            SignalsDoc::Many(lists) => (lists.into_iter().map(Val::Signals).collect(), true),
        };
        Some(Setting {
            key: "signals",
            span,
            values,
            list,
        })
    }
}

/// A cell's settings: one value per key.
pub(super) type Values = BTreeMap<&'static str, Val>;

/// The requests setting, as written.
pub(super) type RequestsDoc = Sp<Vec<Sp<RequestDoc>>>;

/// Expectations merged from `expect` tables (a scenario's, or a matrix's and its rules').
#[derive(Debug, Clone, Default)]
pub(super) struct ExpectParts {
    pub(super) requests: Vec<(Sp<String>, Sp<String>)>,
    pub(super) exit_code: Option<Sp<i64>>,
    pub(super) signal_received: Option<Sp<bool>>,
    pub(super) stop_at_least: Option<Sp<String>>,
    pub(super) stop_below: Option<Sp<String>>,
}

impl ExpectParts {
    /// Lays `doc` over these: its keys replace theirs, request by request.
    pub(super) fn merge(&mut self, doc: &ExpectDoc) {
        for (name, word) in doc.requests.iter().flatten() {
            self.requests.retain(|(n, _)| n.get_ref() != name.get_ref());
            self.requests.push((name.clone(), word.clone()));
        }
        if doc.exit_code.is_some() {
            self.exit_code = doc.exit_code.clone();
        }
        if doc.signal_received.is_some() {
            self.signal_received = doc.signal_received.clone();
        }
        if doc.stop_at_least.is_some() {
            self.stop_at_least = doc.stop_at_least.clone();
        }
        if doc.stop_below.is_some() {
            self.stop_below = doc.stop_below.clone();
        }
    }
}
