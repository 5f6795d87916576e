//! A `[[matrix]]` table: its axes, name template, `exclude` entries and `[[matrix.rule]]`s,
//! expanded into one scenario per cell.

use std::collections::HashMap;

use super::matrix::{self, Axis, Condition};
use crate::model::variant::Variant;

use super::doc::{MatrixDoc, Sp, WhenDoc};
use super::file::{Context, FileCx, Produced, lookup_with_defaults};
use super::settings::{ExpectParts, SETTING_KEYS, Setting, TrafficDoc, Val, Values};
use super::values::{name_problem, names};

/// A `[[matrix.rule]]`: where it is, the cells it matches, what it adds.
struct Rule {
    at: usize,
    when: Condition,
    reason: Option<Sp<String>>,
    expect: Option<Sp<super::doc::ExpectDoc>>,
}

/// A matrix read and checked, ready to expand.
struct Plan {
    at: usize,
    template: Sp<String>,
    placeholders: Vec<String>,
    fixed: Values,
    axes: Vec<Axis<Val>>,
    traffic: TrafficDoc,
    excludes: Vec<(usize, Condition)>,
    rules: Vec<Rule>,
    expect: ExpectParts,
    reason: Option<Sp<String>>,
}

impl FileCx<'_> {
    /// The scenarios of a `[[matrix]]`: every cell of its axes not excluded and not impossible
    /// (a shell variant on `none`), each with the expectations of the rules it matches.
    pub(super) fn matrix(
        &mut self,
        doc: Sp<MatrixDoc>,
        defaults: &Values,
        inherited: &TrafficDoc,
    ) -> Vec<Produced> {
        let errors_before = self.errors.len();
        let Some(plan) = self.matrix_plan(doc, defaults, inherited) else {
            return Vec::new();
        };
        if self.errors.len() > errors_before {
            return Vec::new();
        }
        let mut excludes_used = vec![false; plan.excludes.len()];
        let mut rules_used = vec![false; plan.rules.len()];
        let mut produced: Vec<Produced> = Vec::new();
        let mut names_seen: HashMap<String, usize> = HashMap::new();
        let mut cells = 0;
        for cell in matrix::product(&plan.axes) {
            let mut values = plan.fixed.clone();
            for (key, value) in cell {
                if let Some(key) = SETTING_KEYS.into_iter().find(|k| *k == key) {
                    values.insert(key, value);
                }
            }
            let (canon, canon_ok) = self.canonical(&values);
            if !canon_ok || impossible(&canon) {
                continue;
            }
            let lookup = |key: &str| lookup_with_defaults(&canon, key);
            let mut excluded = false;
            for (i, (_, condition)) in plan.excludes.iter().enumerate() {
                if condition.matches(lookup) {
                    excludes_used[i] = true;
                    excluded = true;
                }
            }
            if excluded {
                continue;
            }
            cells += 1;
            let Some(name) = self.cell_name(&plan, &canon, &mut names_seen) else {
                continue;
            };
            let mut expect = plan.expect.clone();
            let mut reasons: Vec<String> =
                plan.reason.iter().map(|r| r.get_ref().clone()).collect();
            for (i, rule) in plan.rules.iter().enumerate() {
                if rule.when.matches(lookup) {
                    rules_used[i] = true;
                    if let Some(e) = &rule.expect {
                        expect.merge(e.get_ref());
                    }
                    if let Some(r) = &rule.reason {
                        reasons.push(r.get_ref().clone());
                    }
                }
            }
            let cx = Context {
                what: format!("matrix cell `{name}`"),
                at: plan.at,
                senders: "the cells of this matrix",
                hint: "add a [[matrix.rule]] whose `when` matches this cell",
            };
            let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
            if let Some(scenario) = self.resolve(
                &cx,
                name,
                &values,
                canon.clone(),
                &plan.traffic,
                &expect,
                reason,
            ) {
                produced.push(Produced {
                    scenario,
                    at: plan.at,
                    matrix: true,
                });
            }
        }
        if self.errors.len() == errors_before {
            self.unused_entries(&plan, cells, &excludes_used, &rules_used);
        }
        produced
    }

    /// Reads a matrix's settings, template, excludes and rules, reporting what is wrong; None
    /// when nothing can be expanded (no name, a malformed template).
    fn matrix_plan(
        &mut self,
        doc: Sp<MatrixDoc>,
        defaults: &Values,
        inherited: &TrafficDoc,
    ) -> Option<Plan> {
        let at = doc.span().start;
        let mut doc = doc.into_inner();
        let Some(template) = doc.name.take() else {
            self.error(
                at,
                "[[matrix]] has no `name`: give a template such as \"{base}/{variant}/{mode}\"",
            );
            return None;
        };
        let mut settings = doc.take_scalars();
        settings.extend(Setting::signals(doc.signals.take()));
        settings.sort_by_key(|s| s.span.start);
        let (fixed, axes) = self.axes(settings, defaults);
        let placeholders = self.placeholders(&template)?;
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
            let when = match rule.when {
                Some(when) => self.condition(when.into_inner()),
                None => Some(Condition::default()),
            };
            if let Some(when) = when {
                rules.push(Rule {
                    at: start,
                    when,
                    reason: rule.reason,
                    expect: rule.expect,
                });
            }
        }
        let mut expect = ExpectParts::default();
        if let Some(e) = &doc.expect {
            expect.merge(e.get_ref());
        }
        Some(Plan {
            at,
            template,
            placeholders,
            fixed,
            axes,
            traffic: TrafficDoc {
                requests: doc.requests.take(),
                load: doc.load.take(),
                rollout: doc.rollout.take(),
                balancer: doc.balancer.take(),
            }
            .over(inherited),
            excludes,
            rules,
            expect,
            reason: doc.reason.take(),
        })
    }

    /// The fixed values (the defaults, then the matrix's single values) and the axes (its lists).
    fn axes(&mut self, settings: Vec<Setting>, defaults: &Values) -> (Values, Vec<Axis<Val>>) {
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
        (fixed, axes)
    }

    /// The name template's placeholders, each of which must be a setting; None when the
    /// template is malformed.
    fn placeholders(&mut self, template: &Sp<String>) -> Option<Vec<String>> {
        let name_at = template.span().start;
        let placeholders = match matrix::placeholders(template.get_ref()) {
            Ok(keys) => keys,
            Err(e) => {
                self.error(
                    name_at,
                    format!("bad name template {:?}: {}", template.get_ref(), e.message),
                );
                return None;
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
        Some(placeholders)
    }

    /// A cell's name from the template; None (reported) when it is bad or taken by another cell.
    fn cell_name(
        &mut self,
        plan: &Plan,
        canon: &std::collections::BTreeMap<&'static str, String>,
        names_seen: &mut HashMap<String, usize>,
    ) -> Option<String> {
        let name_at = plan.template.span().start;
        let template = plan.template.get_ref();
        let name = match matrix::render(template, |key| lookup_with_defaults(canon, key)) {
            Ok(name) => name,
            Err(e) => {
                self.error(
                    name_at,
                    format!("bad name template {template:?}: {}", e.message),
                );
                return None;
            }
        };
        if let Some(problem) = name_problem(&name) {
            self.error(name_at, format!("name template {template:?}: {problem}"));
            return None;
        }
        let count = names_seen.entry(name.clone()).or_default();
        *count += 1;
        if *count == 2 {
            let missing: Vec<String> = plan
                .axes
                .iter()
                .filter(|a| !plan.placeholders.iter().any(|p| p == a.key.as_str()))
                .map(|a| format!("{{{}}}", a.key))
                .collect();
            self.error(
                name_at,
                format!(
                    "name template {template:?} gives `{name}` to more than one cell: put the other axes in it ({})",
                    if missing.is_empty() {
                        "none left: two cells are the same".to_string()
                    } else {
                        missing.join(", ")
                    }
                ),
            );
        }
        (*count == 1).then_some(name)
    }

    /// Reports a matrix without cells, and excludes and rules that matched no cell.
    fn unused_entries(
        &mut self,
        plan: &Plan,
        cells: usize,
        excludes_used: &[bool],
        rules_used: &[bool],
    ) {
        if cells == 0 {
            self.error(
                plan.at,
                "this [[matrix]] gives no cells: every combination was excluded or needs a shell on base `none`",
            );
        }
        for ((start, _), used) in plan.excludes.iter().zip(excludes_used) {
            if !used {
                self.error(*start, "this `exclude` entry matches no cell of the matrix");
            }
        }
        for (rule, used) in plan.rules.iter().zip(rules_used) {
            if !used && cells > 0 {
                self.error(
                    rule.at,
                    "this [[matrix.rule]] matches no cell of the matrix",
                );
            }
        }
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
}

/// A cell that cannot exist: a variant that needs `/bin/sh` on the base without one.
fn impossible(canon: &std::collections::BTreeMap<&'static str, String>) -> bool {
    let shell_needed = canon
        .get("variant")
        .and_then(|v| Variant::ALL.into_iter().find(|x| x.name() == v))
        .is_some_and(Variant::needs_shell);
    shell_needed && lookup_with_defaults(canon, "base").as_deref() == Some("none")
}
