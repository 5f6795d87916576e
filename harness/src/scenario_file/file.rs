//! One scenario file's parse: the context that collects every error with its place, the top
//! level (`[defaults]`, then each `[[scenario]]` and `[[matrix]]` in file order), and what the
//! table kinds share.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use crate::model::scenario::Scenario;

use super::diagnostics::{Diagnostic, toml_message};
use super::doc::{FileDoc, MatrixDoc, ScenarioDoc, Sp};
use super::settings::{Setting, TrafficDoc, Values};

/// docker stop's default grace period, used when a file sets no `stop-timeout`.
pub(super) const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest `/download` body and rate the server accepts.
pub(super) const MAX_DOWNLOAD: i64 = 1 << 30;

/// A scenario with where it was defined (the `[[scenario]]` or `[[matrix]]` header).
pub(super) struct Produced {
    pub(super) scenario: Scenario,
    pub(super) at: usize,
    /// Set for matrix cells: duplicates within the matrix are reported there already.
    pub(super) matrix: bool,
}

/// The parse of one file: where it is, its text, and every error found so far.
pub(super) struct FileCx<'a> {
    pub(super) workspace: &'a Path,
    pub(super) display: String,
    pub(super) text: &'a str,
    pub(super) errors: Vec<(usize, String)>,
    pub(super) defaults_span: Option<Range<usize>>,
}

impl<'a> FileCx<'a> {
    pub(super) fn new(workspace: &'a Path, display: String, text: &'a str) -> FileCx<'a> {
        FileCx {
            workspace,
            display,
            text,
            errors: Vec::new(),
            defaults_span: None,
        }
    }

    pub(super) fn error(&mut self, at: usize, message: impl Into<String>) {
        self.errors.push((at, message.into()));
    }

    /// The collected errors, in file order, each once.
    pub(super) fn finish(mut self) -> Vec<Diagnostic> {
        self.errors.sort_by_key(|(at, _)| *at);
        let mut diagnostics: Vec<Diagnostic> = Vec::new();
        for (at, message) in &self.errors {
            let diagnostic = Diagnostic::at(&self.display, self.text, *at, message.clone());
            if !diagnostics.contains(&diagnostic) {
                diagnostics.push(diagnostic);
            }
        }
        diagnostics
    }

    pub(super) fn parse(&mut self) -> Vec<Produced> {
        let doc: FileDoc = match toml::from_str(self.text) {
            Ok(doc) => doc,
            Err(error) => {
                let at = error.span().map_or(0, |s| s.start);
                let message = toml_message(error.message());
                self.error(at, message);
                return Vec::new();
            }
        };
        let mut defaults = Values::new();
        let mut default_traffic = TrafficDoc::default();
        if let Some(doc) = doc.defaults {
            self.defaults_span = Some(doc.span());
            let mut doc = doc.into_inner();
            let mut settings = doc.take_scalars();
            settings.extend(Setting::signals(doc.signals.take()));
            defaults = self
                .single_values(settings, "[defaults]")
                .unwrap_or_default();
            default_traffic = TrafficDoc {
                requests: doc.requests.take(),
                load: doc.load.take(),
                rollout: doc.rollout.take(),
                balancer: doc.balancer.take(),
            };
        }
        // In file order, whether [[scenario]] or [[matrix]].
        enum Entry {
            Scenario(Sp<ScenarioDoc>),
            Matrix(Sp<MatrixDoc>),
        }
        let mut entries: Vec<(usize, Entry)> = Vec::new();
        for scenario in doc.scenario.into_iter().flatten() {
            entries.push((scenario.span().start, Entry::Scenario(scenario)));
        }
        for matrix in doc.matrix.into_iter().flatten() {
            entries.push((matrix.span().start, Entry::Matrix(matrix)));
        }
        entries.sort_by_key(|(at, _)| *at);
        if entries.is_empty() {
            self.error(
                0,
                "this file defines no scenario: add a [[scenario]] or a [[matrix]]",
            );
        }
        let mut produced = Vec::new();
        for (_, entry) in entries {
            match entry {
                Entry::Scenario(doc) => {
                    produced.extend(self.scenario(doc, &defaults, &default_traffic))
                }
                Entry::Matrix(doc) => {
                    produced.extend(self.matrix(doc, &defaults, &default_traffic))
                }
            }
        }
        produced
    }

    /// The settings of a table that takes one value per key; None when a list was given.
    pub(super) fn single_values(&mut self, settings: Vec<Setting>, table: &str) -> Option<Values> {
        let mut values = Values::new();
        let mut ok = true;
        for setting in settings {
            if setting.list {
                ok = false;
                self.error(
                    setting.span.start,
                    format!(
                        "`{}` takes one value in {table}; a list makes a matrix axis, which only [[matrix]] has",
                        setting.key
                    ),
                );
                continue;
            }
            if let Some(value) = setting.values.into_iter().next() {
                values.insert(setting.key, value);
            }
        }
        ok.then_some(values)
    }

    pub(super) fn in_defaults(&self, at: usize) -> bool {
        self.defaults_span.as_ref().is_some_and(|s| s.contains(&at))
    }
}

/// Who is being built, for messages.
pub(super) struct Context {
    pub(super) what: String,
    pub(super) at: usize,
    pub(super) senders: &'static str,
    pub(super) hint: &'static str,
}

/// A cell's canonical value of `key`, or the value it gets when the file leaves it out.
pub(super) fn lookup_with_defaults(
    canon: &BTreeMap<&'static str, String>,
    key: &str,
) -> Option<String> {
    canon.get(key).cloned().or_else(|| {
        Some(
            match key {
                "target" => "container",
                "init" => "false",
                "mode" => "graceful",
                "stop-signal" => "SIGTERM",
                "stop-timeout" => "10s",
                _ => return None,
            }
            .to_string(),
        )
    })
}
