//! An `expect` table into [`Expectations`]: per-request outcomes, exit code, signal, stop bounds.

use crate::model::load::{Bound, LoadExpectation, LoadThreshold, LoadWhat};
use crate::model::outcome::Expected;
use crate::model::rollout::RolloutExpectation;
use crate::model::scenario::{Expectations, RequestSpec};
use crate::model::stream_expect::{StreamExpectations, check_grpc_status_name};
use crate::model::streams::GoawaySequence;

use super::doc::{NumberOrWord, Sp};
use super::file::{Context, FileCx};
use super::settings::ExpectParts;
use super::values::parse_duration;

impl FileCx<'_> {
    pub(super) fn expectations(
        &mut self,
        cx: &Context,
        parts: &ExpectParts,
        requests: &[RequestSpec],
        has_load: bool,
        is_rollout: bool,
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
            let parsed = match code.get_ref() {
                NumberOrWord::Number(n) => Some(*n).filter(|n| (0..=255).contains(n)),
                NumberOrWord::Text(text) => crate::exit_code::parse_expected(text),
            };
            if parsed.is_none() {
                let written = match code.get_ref() {
                    NumberOrWord::Number(n) => n.to_string(),
                    NumberOrWord::Text(text) => format!("{text:?}"),
                };
                self.error(
                    code.span().start,
                    format!(
                        "exit-code {written} is not an exit code: write 0 to 255, or \"signal:SIGTERM\" for a death by that signal (143)"
                    ),
                );
            }
            parsed
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
        let (load, thresholds) = self.load_expectations(cx, parts, has_load, is_rollout);
        let rollout = self.rollout_expectation(cx, parts, is_rollout);
        let streams = self.stream_expectations(parts);
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Expectations {
            requests: ordered,
            exit_code,
            signal_received: parts.signal_received.as_ref().map(|s| *s.get_ref()),
            stop_at_least,
            stop_below,
            load,
            thresholds,
            load_in_flight: None,
            rollout,
            streams,
        })
    }

    /// `close-code`, `goaway`, `streams-cut`, `last-event` and `grpc-status`: what the
    /// long-lived streams must show.
    fn stream_expectations(&mut self, parts: &ExpectParts) -> StreamExpectations {
        let close_code = parts.close_code.as_ref().and_then(|code| {
            let parsed = u16::try_from(*code.get_ref())
                .ok()
                .filter(|c| (1000..=4999).contains(c));
            if parsed.is_none() {
                self.error(
                    code.span().start,
                    format!(
                        "close-code {} is not a WebSocket close code: write 1000 to 4999, like 1001 (going away) or 1006 (no close frame)",
                        code.get_ref()
                    ),
                );
            }
            parsed
        });
        let goaway = parts.goaway.as_ref().and_then(|word| {
            let parsed = GoawaySequence::from_name(word.get_ref());
            if parsed.is_none() {
                self.error(
                    word.span().start,
                    format!(
                        "goaway {:?} is not a GOAWAY sequence: write \"two-step\", \"single\" or \"none\"",
                        word.get_ref()
                    ),
                );
            }
            parsed
        });
        let streams_cut = parts.streams_cut.as_ref().and_then(|bound| {
            let parsed = match bound.get_ref() {
                NumberOrWord::Number(n) => u64::try_from(*n).ok().map(Bound::Exactly),
                NumberOrWord::Text(text) => Bound::parse(text),
            };
            if parsed.is_none() {
                self.error(
                    bound.span().start,
                    "bad bound for streams-cut: write a count (0), \"all\", \"some\", \"none\", \"<= 5\", \">= 1\" or a range \"1..2\"".to_string(),
                );
            }
            parsed
        });
        let grpc_status = parts
            .grpc_status
            .as_ref()
            .and_then(|name| match check_grpc_status_name(name.get_ref()) {
                Ok(()) => Some(name.get_ref().clone()),
                Err(message) => {
                    self.error(name.span().start, format!("grpc-status {message}"));
                    None
                }
            });
        StreamExpectations {
            close_code,
            goaway,
            streams_cut,
            last_event: parts.last_event.as_ref().map(|e| e.get_ref().clone()),
            grpc_status,
            requirements: false,
        }
    }

    /// `expect.lost` and `expect.pre-stop`, which only a rollout shows.
    fn rollout_expectation(
        &mut self,
        cx: &Context,
        parts: &ExpectParts,
        is_rollout: bool,
    ) -> Option<RolloutExpectation> {
        if parts.lost.is_none() && parts.pre_stop.is_none() {
            return None;
        }
        if !is_rollout {
            let at = parts
                .lost
                .as_ref()
                .map(|l| l.span().start)
                .or(parts.pre_stop.as_ref().map(|p| p.span().start))
                .unwrap_or(cx.at);
            self.error(
                at,
                format!(
                    "`lost` and `pre-stop` are what a rollout shows, and {} is not one (add a `rollout` table, or expect `load` counts)",
                    cx.what
                ),
            );
            return None;
        }
        let lost = parts.lost.as_ref().and_then(|doc| {
            let bound = match doc.get_ref() {
                NumberOrWord::Number(n) => u64::try_from(*n).ok().map(Bound::Exactly),
                NumberOrWord::Text(text) => Bound::parse(text),
            };
            if bound.is_none() {
                self.error(
                    doc.span().start,
                    "`lost` takes a count (0), \"some\", a bound (\"<= 5\", \">= 1\") or a range (\"20..47\")",
                );
            }
            bound
        });
        let hook_done = parts
            .pre_stop
            .as_ref()
            .and_then(|word| match word.get_ref().as_str() {
                "done" => Some(true),
                "failed" => Some(false),
                other => {
                    self.error(
                        word.span().start,
                        format!(
                            "unknown `pre-stop` expectation {other:?}: write \"done\" or \"failed\""
                        ),
                    );
                    None
                }
            });
        Some(RolloutExpectation { lost, hook_done })
    }

    /// `expect.load`: each key a count (`cut`, `ok-before-signal`, ...) with a bound, or a
    /// threshold (`lost-rate = "<= 0.1%"`, `p99-draining = "<= 500ms"`).
    fn load_expectations(
        &mut self,
        cx: &Context,
        parts: &ExpectParts,
        has_load: bool,
        is_rollout: bool,
    ) -> (Vec<LoadExpectation>, Vec<LoadThreshold>) {
        let mut expectations = Vec::new();
        let mut thresholds = Vec::new();
        for (key, bound) in &parts.load {
            if !has_load {
                self.error(
                    key.span().start,
                    format!(
                        "expectation on the load's `{}`, but {} sends no load: add load = {{ rate = 200, duration = \"4s\" }}",
                        key.get_ref(),
                        cx.what
                    ),
                );
                continue;
            }
            if let NumberOrWord::Text(text) = bound.get_ref()
                && let Some(parsed) = LoadThreshold::parse(key.get_ref(), text)
            {
                match parsed {
                    Ok(threshold) if is_rollout && threshold.phase().is_some() => self.error(
                        key.span().start,
                        format!(
                            "load `{}` is a threshold on a phase of one stop, and {} is a rollout, whose replicas stop one after the other: put it on the whole stream",
                            key.get_ref(),
                            cx.what,
                        ),
                    ),
                    Ok(threshold) => thresholds.push(threshold),
                    Err(message) => self.error(bound.span().start, format!("load {message}")),
                }
                continue;
            }
            let Some((what, phase)) = LoadExpectation::parse_key(key.get_ref()) else {
                self.error(
                    key.span().start,
                    format!(
                        "unknown load count `{}`: a count ({}) optionally followed by a phase (-before-signal, -draining, -after-exit), like `not-served-draining`; or a threshold, like lost-rate = \"<= 0.1%\" or p99-draining = \"<= 500ms\"",
                        key.get_ref(),
                        LoadWhat::ALL.map(LoadWhat::name).join(", ")
                    ),
                );
                continue;
            };
            if is_rollout && phase.is_some() {
                self.error(
                    key.span().start,
                    format!(
                        "load `{}` counts a phase of one stop, and {} is a rollout, whose replicas stop one after the other: expect `lost` (the rollout's) or a count over the whole stream",
                        key.get_ref(),
                        cx.what
                    ),
                );
                continue;
            }
            let parsed = match bound.get_ref() {
                NumberOrWord::Number(n) => u64::try_from(*n).ok().map(Bound::Exactly),
                NumberOrWord::Text(text) => Bound::parse(text),
            };
            match parsed {
                Some(bound) => expectations.push(LoadExpectation { what, phase, bound }),
                None => self.error(
                    bound.span().start,
                    format!(
                        "bad bound for load `{}`: write a count (0), \"all\", \"some\", \"none\", \"<= 5\", \">= 1\" or a range \"20..47\"",
                        key.get_ref()
                    ),
                ),
            }
        }
        (expectations, thresholds)
    }
}
