//! Parsing one file into scenarios (`[defaults]`, `[[scenario]]`, `[[matrix]]`), all errors kept.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use crate::matrix::{self, Axis, Condition};
use crate::outcome::Expected;
use crate::scenario::{
    ContainerSpec, Expectations, Offset, RequestKind, RequestSpec, Scenario, ServerSpec, StopSpec,
    Target,
};
use crate::variant::{Base, ServerMode, StopSignal, Variant};

use super::diagnostics::{Diagnostic, toml_message};
use super::doc::{FileDoc, MatrixDoc, RequestDoc, ScenarioDoc, Sp, WhenDoc};
use super::settings::{ExpectParts, RequestsDoc, SETTING_KEYS, Setting, Val, Values};
use super::values::{canon_duration, name_problem, names, parse_duration, parse_signal};

/// docker stop's default grace period, used when a file sets no `stop-timeout`.
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest `/download` body and rate the server accepts.
const MAX_DOWNLOAD: i64 = 1 << 30;

/// A scenario with where it was defined (the `[[scenario]]` or `[[matrix]]` header).
pub(super) struct Produced {
    pub(super) scenario: Scenario,
    pub(super) at: usize,
    /// Set for matrix cells: duplicates within the matrix are reported there already.
    pub(super) matrix: bool,
}

pub(super) struct FileCx<'a> {
    workspace: &'a Path,
    display: String,
    text: &'a str,
    errors: Vec<(usize, String)>,
    defaults_span: Option<Range<usize>>,
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

    fn error(&mut self, at: usize, message: impl Into<String>) {
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
        let mut default_requests = None;
        if let Some(doc) = doc.defaults {
            self.defaults_span = Some(doc.span());
            let mut doc = doc.into_inner();
            let mut settings = doc.take_scalars();
            settings.extend(Setting::signals(doc.signals.take()));
            defaults = self
                .single_values(settings, "[defaults]")
                .unwrap_or_default();
            default_requests = doc.requests.take();
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
                    produced.extend(self.scenario(doc, &defaults, default_requests.as_ref()))
                }
                Entry::Matrix(doc) => {
                    produced.extend(self.matrix(doc, &defaults, default_requests.as_ref()))
                }
            }
        }
        produced
    }

    /// The settings of a table that takes one value per key; None when a list was given.
    fn single_values(&mut self, settings: Vec<Setting>, table: &str) -> Option<Values> {
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

    fn scenario(
        &mut self,
        doc: Sp<ScenarioDoc>,
        defaults: &Values,
        default_requests: Option<&RequestsDoc>,
    ) -> Option<Produced> {
        let at = doc.span().start;
        let mut doc = doc.into_inner();
        let mut settings = doc.take_scalars();
        settings.extend(Setting::signals(doc.signals.take()));
        let mut values = defaults.clone();
        let own = self.single_values(settings, "[[scenario]]");
        values.extend(own.clone().unwrap_or_default());
        let requests = doc.requests.take().or_else(|| default_requests.cloned());

        let Some(name) = doc.name.take() else {
            self.error(at, "[[scenario]] has no `name`");
            return None;
        };
        let name_ok = self.check_name(&name);
        own?;
        let (canon, canon_ok) = self.canonical(&values);
        let mut expect = ExpectParts::default();
        if let Some(e) = &doc.expect {
            expect.merge(e.get_ref());
        }
        let cx = Context {
            what: format!("scenario `{}`", name.get_ref()),
            at,
            senders: "this scenario",
            hint: "add it to `expect.requests`",
        };
        let reason = doc.reason.map(|r| r.into_inner());
        let scenario = self.resolve(
            &cx,
            name.get_ref().clone(),
            &values,
            canon,
            requests.as_ref(),
            &expect,
            reason,
        )?;
        (name_ok && canon_ok).then_some(Produced {
            scenario,
            at,
            matrix: false,
        })
    }

    fn check_name(&mut self, name: &Sp<String>) -> bool {
        match name_problem(name.get_ref()) {
            Some(problem) => {
                self.error(name.span().start, problem);
                false
            }
            None => true,
        }
    }

    /// Every good value of a cell in canonical text, and whether all were good (bad ones are
    /// reported).
    fn canonical(&mut self, values: &Values) -> (BTreeMap<&'static str, String>, bool) {
        let mut canon = BTreeMap::new();
        let mut ok = true;
        for (key, value) in values {
            match self.canon(key, value) {
                Ok(text) => {
                    canon.insert(*key, text);
                }
                Err(message) => {
                    self.error(value.span().start, message);
                    ok = false;
                }
            }
        }
        (canon, ok)
    }

    /// A value checked and in canonical text (`TERM` becomes `SIGTERM`, `1000ms` becomes `1s`).
    fn canon(&self, key: &str, value: &Val) -> Result<String, String> {
        let text = match value {
            Val::Bool(b) => return Ok(b.get_ref().to_string()),
            Val::Signals(list) => {
                if list.get_ref().is_empty() {
                    return Err(
                        "`signals` is empty: name at least one signal, or leave it out for the server's default"
                            .to_string(),
                    );
                }
                let mut names = Vec::new();
                for signal in list.get_ref() {
                    names.push(parse_signal(signal.get_ref())?.name());
                }
                return Ok(names.join(","));
            }
            Val::Str(s) => s.get_ref().as_str(),
        };
        match key {
            "target" => match text {
                "container" | "process" => Ok(text.to_string()),
                _ => Err(format!(
                    "unknown target {text:?}: write \"container\" or \"process\""
                )),
            },
            "base" => Base::ALL
                .into_iter()
                .find(|b| b.name() == text)
                .map(|b| b.name().to_string())
                .ok_or_else(|| {
                    format!(
                        "unknown base {text:?} (expected one of: {})",
                        names(Base::ALL.map(Base::name))
                    )
                }),
            "variant" => {
                let Some(variant) = Variant::ALL.into_iter().find(|v| v.name() == text) else {
                    return Err(format!(
                        "unknown variant {text:?}: there is no Dockerfiles/{text}.Dockerfile variant (expected one of: {})",
                        names(Variant::ALL.map(Variant::name))
                    ));
                };
                let dockerfile = self
                    .workspace
                    .join("Dockerfiles")
                    .join(variant.dockerfile());
                if !dockerfile.is_file() {
                    return Err(format!(
                        "Dockerfile Dockerfiles/{} not found for variant `{variant}` (looked in {})",
                        variant.dockerfile(),
                        self.workspace.join("Dockerfiles").display()
                    ));
                }
                Ok(variant.name().to_string())
            }
            "mode" => [
                ServerMode::Graceful,
                ServerMode::Abrupt,
                ServerMode::Unhandled,
            ]
            .into_iter()
            .find(|m| m.name() == text)
            .map(|m| m.name().to_string())
            .ok_or_else(|| {
                format!("unknown mode {text:?} (expected one of: graceful, abrupt, unhandled)")
            }),
            "stop-signal" => parse_signal(text).map(|s| s.name().to_string()),
            "delay" | "drain-timeout" | "stop-timeout" | "stop-at" => {
                parse_duration(key, text).map(canon_duration)
            }
            _ => Err(format!("`{key}` cannot take {text:?}")),
        }
    }

    fn matrix(
        &mut self,
        doc: Sp<MatrixDoc>,
        defaults: &Values,
        default_requests: Option<&RequestsDoc>,
    ) -> Vec<Produced> {
        let errors_before = self.errors.len();
        let at = doc.span().start;
        let mut doc = doc.into_inner();
        let Some(template) = doc.name.take() else {
            self.error(
                at,
                "[[matrix]] has no `name`: give a template such as \"{base}/{variant}/{mode}\"",
            );
            return Vec::new();
        };
        let mut settings = doc.take_scalars();
        settings.extend(Setting::signals(doc.signals.take()));
        settings.sort_by_key(|s| s.span.start);

        let mut fixed = defaults.clone();
        let mut axes = Vec::new();
        for setting in settings {
            if setting.list {
                if setting.values.is_empty() {
                    self.error(
                        setting.span.start,
                        format!(
                            "`{}` is an empty list: an axis needs at least one value",
                            setting.key
                        ),
                    );
                }
                axes.push(Axis::new(setting.key, setting.values));
            } else if let Some(value) = setting.values.into_iter().next() {
                fixed.insert(setting.key, value);
            }
        }
        let requests = doc.requests.take().or_else(|| default_requests.cloned());

        // The template's placeholders must be settings.
        let name_at = template.span().start;
        let placeholders = match matrix::placeholders(template.get_ref()) {
            Ok(keys) => keys,
            Err(e) => {
                self.error(
                    name_at,
                    format!("bad name template {:?}: {}", template.get_ref(), e.message),
                );
                return Vec::new();
            }
        };
        for key in &placeholders {
            if !SETTING_KEYS.contains(&key.as_str()) {
                self.error(
                    name_at,
                    format!(
                        "name template placeholder `{{{key}}}` is not a setting (expected one of: {})",
                        names(SETTING_KEYS)
                    ),
                );
            }
        }

        let excludes: Vec<(usize, Condition)> = doc
            .exclude
            .take()
            .into_iter()
            .flatten()
            .filter_map(|w| {
                let start = w.span().start;
                self.condition(w.into_inner()).map(|c| (start, c))
            })
            .collect();
        let mut rules = Vec::new();
        for rule in doc.rule.take().into_iter().flatten() {
            let start = rule.span().start;
            let rule = rule.into_inner();
            let condition = match rule.when {
                Some(when) => self.condition(when.into_inner()),
                None => Some(Condition::default()),
            };
            if let Some(condition) = condition {
                rules.push((start, condition, rule.reason, rule.expect));
            }
        }
        let mut base_expect = ExpectParts::default();
        if let Some(e) = &doc.expect {
            base_expect.merge(e.get_ref());
        }
        if self.errors.len() > errors_before {
            return Vec::new();
        }

        let mut excludes_used = vec![false; excludes.len()];
        let mut rules_used = vec![false; rules.len()];
        let mut produced: Vec<Produced> = Vec::new();
        let mut names_seen: HashMap<String, usize> = HashMap::new();
        let mut cells = 0;
        for cell in matrix::product(&axes) {
            let mut values = fixed.clone();
            for (key, value) in cell {
                let key = SETTING_KEYS
                    .into_iter()
                    .find(|k| *k == key)
                    .expect("axes are settings");
                values.insert(key, value);
            }
            let (canon, canon_ok) = self.canonical(&values);
            if !canon_ok {
                continue;
            }
            let lookup = |key: &str| lookup_with_defaults(&canon, key);
            let shell_needed = canon
                .get("variant")
                .and_then(|v| Variant::ALL.into_iter().find(|x| x.name() == v))
                .is_some_and(Variant::needs_shell);
            if shell_needed && lookup("base").as_deref() == Some("none") {
                continue;
            }
            let mut excluded = false;
            for (i, (_, condition)) in excludes.iter().enumerate() {
                if condition.matches(lookup) {
                    excludes_used[i] = true;
                    excluded = true;
                }
            }
            if excluded {
                continue;
            }
            cells += 1;
            let name = match matrix::render(template.get_ref(), lookup) {
                Ok(name) => name,
                Err(e) => {
                    self.error(
                        name_at,
                        format!("bad name template {:?}: {}", template.get_ref(), e.message),
                    );
                    continue;
                }
            };
            if let Some(problem) = name_problem(&name) {
                self.error(
                    name_at,
                    format!("name template {:?}: {problem}", template.get_ref()),
                );
                continue;
            }
            let mut expect = base_expect.clone();
            let mut reasons: Vec<String> = doc.reason.iter().map(|r| r.get_ref().clone()).collect();
            for (i, (_, condition, reason, rule_expect)) in rules.iter().enumerate() {
                if condition.matches(lookup) {
                    rules_used[i] = true;
                    if let Some(e) = rule_expect {
                        expect.merge(e.get_ref());
                    }
                    if let Some(r) = reason {
                        reasons.push(r.get_ref().clone());
                    }
                }
            }
            let count = names_seen.entry(name.clone()).or_default();
            *count += 1;
            if *count == 2 {
                let missing: Vec<String> = axes
                    .iter()
                    .filter(|a| !placeholders.iter().any(|p| p == a.key.as_str()))
                    .map(|a| format!("{{{}}}", a.key))
                    .collect();
                self.error(
                    name_at,
                    format!(
                        "name template {:?} gives `{name}` to more than one cell: put the other axes in it ({})",
                        template.get_ref(),
                        if missing.is_empty() { "none left: two cells are the same".to_string() } else { missing.join(", ") }
                    ),
                );
            }
            if *count > 1 {
                continue;
            }
            let cx = Context {
                what: format!("matrix cell `{name}`"),
                at,
                senders: "the cells of this matrix",
                hint: "add a [[matrix.rule]] whose `when` matches this cell",
            };
            let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
            if let Some(scenario) = self.resolve(
                &cx,
                name,
                &values,
                canon.clone(),
                requests.as_ref(),
                &expect,
                reason,
            ) {
                produced.push(Produced {
                    scenario,
                    at,
                    matrix: true,
                });
            }
        }
        if self.errors.len() > errors_before {
            return produced;
        }
        if cells == 0 {
            self.error(
                at,
                "this [[matrix]] gives no cells: every combination was excluded or needs a shell on base `none`",
            );
        }
        for (i, (start, _)) in excludes.iter().enumerate() {
            if !excludes_used[i] {
                self.error(*start, "this `exclude` entry matches no cell of the matrix");
            }
        }
        for (i, (start, ..)) in rules.iter().enumerate() {
            if !rules_used[i] && cells > 0 {
                self.error(*start, "this [[matrix.rule]] matches no cell of the matrix");
            }
        }
        produced
    }

    /// A `when` or `exclude` table as a condition on canonical values.
    fn condition(&mut self, mut doc: WhenDoc) -> Option<Condition> {
        let mut condition = Condition::default();
        let mut ok = true;
        for setting in doc.take_scalars() {
            let mut accepted = Vec::new();
            for value in &setting.values {
                match self.canon(setting.key, value) {
                    Ok(text) => accepted.push(text),
                    Err(message) => {
                        self.error(value.span().start, message);
                        ok = false;
                    }
                }
            }
            condition.keys.push((setting.key.to_string(), accepted));
        }
        ok.then_some(condition)
    }

    /// Builds the scenario of one set of values, reporting every problem.
    #[allow(clippy::too_many_arguments)]
    fn resolve(
        &mut self,
        cx: &Context,
        name: String,
        values: &Values,
        canon: BTreeMap<&'static str, String>,
        requests: Option<&RequestsDoc>,
        expect: &ExpectParts,
        reason: Option<String>,
    ) -> Option<Scenario> {
        let errors_before = self.errors.len();
        let get = |key: &str| lookup_with_defaults(&canon, key);
        let span_of = |key: &str| values.get(key).map(|v| v.span().start);
        let duration = |key: &str| get(key).and_then(|t| crate::duration::parse(&t));

        let container = get("target").as_deref() == Some("container");
        let target = if container {
            let base = get("base").and_then(|b| Base::ALL.into_iter().find(|x| x.name() == b));
            let variant =
                get("variant").and_then(|v| Variant::ALL.into_iter().find(|x| x.name() == v));
            if base.is_none() && !values.contains_key("base") {
                self.error(
                    cx.at,
                    format!(
                        "{} has no `base` (one of: {}); set it here or in [defaults]",
                        cx.what,
                        names(Base::ALL.map(Base::name))
                    ),
                );
            }
            if variant.is_none() && !values.contains_key("variant") {
                self.error(
                    cx.at,
                    format!(
                        "{} has no `variant` (one of: {}); set it here or in [defaults]",
                        cx.what,
                        names(Variant::ALL.map(Variant::name))
                    ),
                );
            }
            if let (Some(base), Some(variant)) = (base, variant)
                && variant.needs_shell()
                && !base.has_shell()
            {
                self.error(
                    span_of("variant").unwrap_or(cx.at),
                    format!(
                        "variant `{variant}` needs /bin/sh, but base `{base}` has no shell (use exec-form or tini on `none`, or a base with a shell)"
                    ),
                );
            }
            let init = get("init").as_deref() == Some("true");
            match (base, variant) {
                (Some(base), Some(variant)) => Some(Target::Container(ContainerSpec {
                    variant,
                    base,
                    init,
                })),
                _ => None,
            }
        } else {
            for key in ["base", "variant", "init"] {
                if let Some(value) = values.get(key)
                    && !self.in_defaults(value.span().start)
                {
                    self.error(
                        value.span().start,
                        format!(
                            "`{key}` applies to container scenarios only, and this one's target is \"process\""
                        ),
                    );
                }
            }
            Some(Target::Process)
        };

        let mode = get("mode").and_then(|m| {
            [
                ServerMode::Graceful,
                ServerMode::Abrupt,
                ServerMode::Unhandled,
            ]
            .into_iter()
            .find(|x| x.name() == m)
        });
        let delay = duration("delay");
        if delay.is_none() && !values.contains_key("delay") {
            self.error(
                cx.at,
                format!(
                    "{} has no `delay` (the server's handler duration, like delay = \"1s\"); set it here or in [defaults]",
                    cx.what
                ),
            );
        }
        let signals = get("signals").map(|list| {
            list.split(',')
                .filter_map(StopSignal::parse)
                .collect::<Vec<_>>()
        });
        let stop_signal = get("stop-signal").and_then(|s| StopSignal::parse(&s));
        let stop_timeout = duration("stop-timeout");
        if container
            && let Some(timeout) = stop_timeout
            && timeout.subsec_nanos() != 0
        {
            self.error(
                span_of("stop-timeout").unwrap_or(cx.at),
                format!(
                    "stop-timeout {} is not whole seconds: docker stop takes its grace period in seconds, so write e.g. \"{}s\"",
                    crate::duration::format(timeout),
                    timeout.as_secs().max(1)
                ),
            );
        }

        // Requests.
        let mut specs: Vec<RequestSpec> = Vec::new();
        match requests {
            None => self.error(
                cx.at,
                format!(
                    "{} has no `requests`: send at least one, like requests = [{{ name = \"in-flight\", at = \"-300ms\" }}]",
                    cx.what
                ),
            ),
            Some(list) if list.get_ref().is_empty() => self.error(
                list.span().start,
                "`requests` is empty: send at least one request around the stop",
            ),
            Some(list) => {
                for request in list.get_ref() {
                    if let Some(spec) = self.request(request, &specs) {
                        specs.push(spec);
                    }
                }
            }
        }

        // When the stop is issued: after every request meant to precede it.
        let lead = specs.iter().map(|r| (-r.at.0).max(0)).max().unwrap_or(0);
        let lead = Duration::from_millis(lead as u64);
        let stop_at = match duration("stop-at") {
            Some(at) if at < lead => {
                let first = specs
                    .iter()
                    .find(|r| Duration::from_millis((-r.at.0).max(0) as u64) > at)
                    .map(|r| r.name.clone())
                    .unwrap_or_default();
                self.error(
                    span_of("stop-at").unwrap_or(cx.at),
                    format!(
                        "stop-at {} is too early: request `{first}` is sent {} before the stop, which would be before the server is ready (make stop-at at least {})",
                        crate::duration::format(at),
                        crate::duration::format(lead),
                        crate::duration::format(lead)
                    ),
                );
                at
            }
            Some(at) => at,
            None => lead,
        };

        let expectations = self.expectations(cx, expect, &specs);

        if self.errors.len() > errors_before {
            return None;
        }
        Some(Scenario {
            name,
            target: target?,
            server: ServerSpec {
                mode: mode.unwrap_or(ServerMode::Graceful),
                delay: delay?,
                signals,
                drain_timeout: duration("drain-timeout"),
            },
            stop: StopSpec {
                signal: stop_signal.unwrap_or(StopSignal::Sigterm),
                timeout: stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
                at: stop_at,
            },
            requests: specs,
            expect: expectations?,
            reason,
        })
    }

    fn in_defaults(&self, at: usize) -> bool {
        self.defaults_span.as_ref().is_some_and(|s| s.contains(&at))
    }

    fn request(&mut self, doc: &Sp<RequestDoc>, earlier: &[RequestSpec]) -> Option<RequestSpec> {
        let at_table = doc.span().start;
        let doc = doc.get_ref();
        let mut ok = true;
        let name = match &doc.name {
            None => {
                self.error(
                    at_table,
                    "request has no `name` (like name = \"in-flight\")",
                );
                None
            }
            Some(name) => {
                let text = name.get_ref();
                if text.is_empty()
                    || !text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    self.error(
                        name.span().start,
                        format!(
                            "bad request name {text:?}: use letters, digits, - and _ (like \"in-flight\")"
                        ),
                    );
                    ok = false;
                } else if earlier.iter().any(|r| r.name == *text) {
                    self.error(
                        name.span().start,
                        format!("request name `{text}` is used twice in this scenario"),
                    );
                    ok = false;
                }
                Some(text.clone())
            }
        };
        let at = match &doc.at {
            None => {
                self.error(
                    at_table,
                    "request has no `at` (its time relative to the stop, like at = \"-300ms\" or at = \"+300ms\")",
                );
                None
            }
            Some(at) => {
                let offset = Offset::parse(at.get_ref());
                if offset.is_none() {
                    self.error(
                        at.span().start,
                        format!(
                            "bad offset {:?} for `at`: write it like \"-300ms\" (before the stop) or \"+300ms\" (after it)",
                            at.get_ref()
                        ),
                    );
                }
                offset
            }
        };
        let kind = match (&doc.delay, &doc.download) {
            (Some(delay), Some(_)) => {
                self.error(
                    delay.span().start,
                    "a request has either `delay` (GET /) or `download` (GET /download), not both",
                );
                None
            }
            (Some(delay), None) => match parse_duration("delay", delay.get_ref()) {
                Ok(d) => Some(RequestKind::Slow { delay: Some(d) }),
                Err(message) => {
                    self.error(delay.span().start, message);
                    None
                }
            },
            (None, None) => Some(RequestKind::Slow { delay: None }),
            (None, Some(download)) => {
                let d = download.get_ref();
                let mut number = |key: &str, value: &Option<Sp<i64>>, min: i64| match value {
                    None => {
                        self.error(
                            download.span().start,
                            format!(
                                "`download` has no `{key}` (like download = {{ bytes = 200000, rate = 100000 }})"
                            ),
                        );
                        None
                    }
                    Some(v) if !(min..=MAX_DOWNLOAD).contains(v.get_ref()) => {
                        self.error(
                            v.span().start,
                            format!(
                                "download `{key}` = {} is out of range: the server takes {min} to {MAX_DOWNLOAD}",
                                v.get_ref()
                            ),
                        );
                        None
                    }
                    Some(v) => Some(*v.get_ref() as u64),
                };
                let bytes = number("bytes", &d.bytes, 0);
                let rate = number("rate", &d.rate, 1);
                Some(RequestKind::Download {
                    bytes: bytes?,
                    rate: rate?,
                })
            }
        };
        if !ok {
            return None;
        }
        Some(RequestSpec {
            name: name?,
            at: at?,
            kind: kind?,
        })
    }

    fn expectations(
        &mut self,
        cx: &Context,
        parts: &ExpectParts,
        requests: &[RequestSpec],
    ) -> Option<Expectations> {
        let errors_before = self.errors.len();
        let sent: Vec<&str> = requests.iter().map(|r| r.name.as_str()).collect();
        let mut expected: Vec<(String, Expected)> = Vec::new();
        for (name, word) in &parts.requests {
            if !sent.contains(&name.get_ref().as_str()) {
                self.error(
                    name.span().start,
                    format!(
                        "expectation names request `{}`, which {} does not send (it sends: {})",
                        name.get_ref(),
                        cx.senders,
                        if sent.is_empty() {
                            "nothing".to_string()
                        } else {
                            sent.join(", ")
                        }
                    ),
                );
                continue;
            }
            match Expected::parse(word.get_ref()) {
                Some(e) => expected.push((name.get_ref().clone(), e)),
                None => self.error(
                    word.span().start,
                    format!(
                        "unknown expectation {:?} for request `{}` (expected one of: ok, http-error, truncated, empty-reply, reset, refused, timeout, not-served)",
                        word.get_ref(),
                        name.get_ref()
                    ),
                ),
            }
        }
        // In the order the requests are sent.
        let mut ordered = Vec::new();
        for request in requests {
            match expected.iter().find(|(n, _)| *n == request.name) {
                Some(e) => ordered.push(e.clone()),
                None if parts
                    .requests
                    .iter()
                    .all(|(n, _)| *n.get_ref() != request.name) =>
                {
                    self.error(
                        cx.at,
                        format!(
                            "{} has no expectation for request `{}` ({})",
                            cx.what, request.name, cx.hint
                        ),
                    );
                }
                None => {}
            }
        }
        let exit_code = parts.exit_code.as_ref().and_then(|code| {
            let value = *code.get_ref();
            if (0..=255).contains(&value) {
                Some(value)
            } else {
                self.error(
                    code.span().start,
                    format!("exit-code {value} is out of range: exit codes are 0 to 255"),
                );
                None
            }
        });
        let mut stop_bound = |key: &str, value: &Option<Sp<String>>| {
            value
                .as_ref()
                .and_then(|v| match parse_duration(key, v.get_ref()) {
                    Ok(d) => Some(d),
                    Err(message) => {
                        self.error(v.span().start, message);
                        None
                    }
                })
        };
        let stop_at_least = stop_bound("stop-at-least", &parts.stop_at_least);
        let stop_below = stop_bound("stop-below", &parts.stop_below);
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Expectations {
            requests: ordered,
            exit_code,
            signal_received: parts.signal_received.as_ref().map(|s| *s.get_ref()),
            stop_at_least,
            stop_below,
        })
    }
}

/// Who is being built, for messages.
struct Context {
    what: String,
    at: usize,
    senders: &'static str,
    hint: &'static str,
}

/// A cell's canonical value of `key`, or the value it gets when the file leaves it out.
fn lookup_with_defaults(canon: &BTreeMap<&'static str, String>, key: &str) -> Option<String> {
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
