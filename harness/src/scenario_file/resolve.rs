//! A cell's settings (a scenario's, or a matrix cell's) resolved into a [`Scenario`]: its
//! target, server, stop and requests, every problem reported.

use crate::model::scenario::RequestKind;
use crate::model::streams::Protocol;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::runtime::Runtime;
use crate::model::scenario::{
    ContainerSpec, RequestSpec, RuntimeSpec, Scenario, ServerSpec, StopSpec, Target,
};
use server_contract::KeepAliveDrain;

use crate::model::variant::{Base, ServerMode, StopSignal, Variant};

use super::file::{Context, DEFAULT_STOP_TIMEOUT, FileCx, lookup_with_defaults};
use super::settings::{ExpectParts, RequestsDoc, TrafficDoc, Values};
use super::values::names;

/// When a load scenario without requests of its own is stopped, unless it says: a second of
/// steady traffic first.
const LOAD_STOP_AT: Duration = Duration::from_secs(1);

/// A cell's settings: as written (for their places) and in canonical text (for their values).
struct Cell<'a> {
    values: &'a Values,
    canon: BTreeMap<&'static str, String>,
}

impl Cell<'_> {
    /// The canonical value of `key`, or the one it gets when the file leaves it out.
    fn get(&self, key: &str) -> Option<String> {
        lookup_with_defaults(&self.canon, key)
    }

    /// Where `key` was written, if it was.
    fn span_of(&self, key: &str) -> Option<usize> {
        self.values.get(key).map(|v| v.span().start)
    }

    fn duration(&self, key: &str) -> Option<Duration> {
        self.get(key).and_then(|t| crate::duration::parse(&t))
    }
}

impl FileCx<'_> {
    /// Builds the scenario named `name` of one set of values, reporting every problem.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn resolve(
        &mut self,
        cx: &Context,
        name: String,
        values: &Values,
        canon: BTreeMap<&'static str, String>,
        traffic: &TrafficDoc,
        expect: &ExpectParts,
        reason: Option<String>,
    ) -> Option<Scenario> {
        let errors_before = self.errors.len();
        let cell = Cell { values, canon };
        let target = self.target(cx, &cell);
        let server = self.server(cx, &cell);
        let stop_timeout = self.stop_timeout(cx, &cell);
        let load = self.load(cx, traffic.load.as_ref(), cell.get("client"));
        let has_load = matches!(load, Some(Some(_)));
        let protocol = cell
            .get("protocol")
            .and_then(|p| Protocol::from_name(&p))
            .unwrap_or(Protocol::Http1);
        let mut specs = self.requests(cx, traffic.requests.as_ref(), has_load, protocol);
        if protocol != Protocol::Http1 {
            self.protocol_applies(cx, &cell, &target, has_load, protocol);
        }
        // A runtime's streams ask its own routes.
        if let Some(Target::Runtime(spec)) = &target {
            let (_, runtime_routes) = spec.runtime.protocols();
            for request in &mut specs {
                if let RequestKind::Stream { routes, .. } = &mut request.kind {
                    *routes = runtime_routes.clone();
                }
            }
        }
        let stop_at = self.stop_at(cx, &cell, &specs, has_load);
        let rollout = self.rollout(
            cx,
            traffic.rollout.as_ref(),
            traffic.balancer.as_ref(),
            has_load,
        );
        if let (Some(Some(_)), Some(Target::Process)) = (&rollout, &target) {
            self.error(
                cx.at,
                format!(
                    "{} is a rollout of a bare process: replicas are containers (target = \"container\", \"runtime\")",
                    cx.what
                ),
            );
        }
        // A rollout table that is wrong is still a rollout: its own errors say what is wrong.
        let is_rollout = traffic.rollout.is_some();
        let expectations = self.expectations(cx, expect, &specs, has_load, is_rollout);
        if let Some(Target::Runtime(spec)) = &target
            && let Some(said) = &expect.signal_received
        {
            self.error(
                said.span().start,
                format!(
                    "`signal-received` is read from graceful-server's log line, and {} is not it: leave it out, and expect the exit code and the requests' outcomes",
                    spec.runtime
                ),
            );
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(Scenario {
            name,
            target: target?,
            server: server?,
            stop: StopSpec {
                signal: cell
                    .get("stop-signal")
                    .and_then(|s| StopSignal::parse(&s))
                    .unwrap_or(StopSignal::Sigterm),
                // A rollout's replicas get their grace period from the rollout.
                timeout: match &rollout {
                    Some(Some(spec)) => spec.termination_grace,
                    _ => stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
                },
                at: stop_at,
                from_path: None,
            },
            requests: specs,
            load: load?,
            rollout: rollout?,
            expect: expectations?,
            reason,
        })
    }

    /// Reports a `protocol` other than HTTP/1.1 where it cannot apply: to an image or a running
    /// container (whose routes are unknown), to a runtime that does not speak it, or with a load
    /// (HTTP/1.1).
    fn protocol_applies(
        &mut self,
        cx: &Context,
        cell: &Cell<'_>,
        target: &Option<Target>,
        has_load: bool,
        protocol: Protocol,
    ) {
        let at = cell.span_of("protocol").unwrap_or(cx.at);
        if let Some(Target::Runtime(spec)) = target {
            let (spoken, _) = spec.runtime.protocols();
            if !spoken.contains(&protocol) {
                let speakers: Vec<&str> = Runtime::ALL
                    .into_iter()
                    .filter(|r| r.protocols().0.contains(&protocol))
                    .map(Runtime::name)
                    .collect();
                let instead = match spoken {
                    [] => "speaks only HTTP/1.1: leave `protocol` out".to_string(),
                    [first, ..] => format!(
                        "speaks {}: write protocol = \"{}\"",
                        first.name(),
                        first.name()
                    ),
                };
                self.error(
                    at,
                    format!(
                        "protocol = \"{}\" asks graceful-server's routes or a runtime that serves them ({}), and runtime {} {instead}",
                        protocol.name(),
                        if speakers.is_empty() {
                            "none does".to_string()
                        } else {
                            speakers.join(", ")
                        },
                        spec.runtime,
                    ),
                );
            }
        } else if matches!(target, Some(t) if !matches!(t, Target::Process | Target::Container(_)))
        {
            self.error(
                at,
                format!(
                    "protocol = \"{}\" asks graceful-server's routes (/ws, /events, its gRPC service): use it with target = \"container\" or \"process\", or with a runtime that speaks it (target = \"runtime\", runtime = \"nginx-h2c\", \"python-websockets\", \"node-ws\" or \"grpcio\")",
                    protocol.name()
                ),
            );
        }
        if has_load {
            self.error(
                at,
                format!(
                    "a `load` is sent over HTTP/1.1: leave it out of a scenario with protocol = \"{}\"",
                    protocol.name()
                ),
            );
        }
    }

    /// Reports each of `keys` this cell sets itself (not through `[defaults]`) as not applying
    /// to it, `why` saying to what they do apply.
    fn not_applying(&mut self, cell: &Cell<'_>, keys: &[&str], why: impl Fn(&str) -> String) {
        for key in keys {
            if let Some(value) = cell.values.get(key)
                && !self.in_defaults(value.span().start)
            {
                self.error(value.span().start, why(key));
            }
        }
    }

    /// A container (base, variant, init), a runtime (runtime, init) or a bare process.
    fn target(&mut self, cx: &Context, cell: &Cell<'_>) -> Option<Target> {
        let target = cell.get("target").unwrap_or_default();
        if target != "runtime" {
            self.not_applying(cell, &["runtime"], |_| {
                format!(
                    "`runtime` applies to runtime scenarios only, and this one's target is \"{target}\" (write target = \"runtime\")"
                )
            });
        }
        if target == "runtime" {
            self.not_applying(cell, &["base", "variant"], |key| {
                format!(
                    "`{key}` applies to container scenarios (our server's variant images) only, and this one's target is \"runtime\""
                )
            });
            return self.runtime_target(cx, cell);
        }
        if target != "container" {
            self.not_applying(cell, &["base", "variant", "init"], |key| {
                format!(
                    "`{key}` applies to container scenarios only, and this one's target is \"process\""
                )
            });
            return Some(Target::Process);
        }
        let base = cell
            .get("base")
            .and_then(|b| Base::ALL.into_iter().find(|x| x.name() == b));
        let variant = cell
            .get("variant")
            .and_then(|v| Variant::ALL.into_iter().find(|x| x.name() == v));
        if base.is_none() && !cell.values.contains_key("base") {
            self.error(
                cx.at,
                format!(
                    "{} has no `base` (one of: {}); set it here or in [defaults]",
                    cx.what,
                    names(Base::ALL.map(Base::name))
                ),
            );
        }
        if variant.is_none() && !cell.values.contains_key("variant") {
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
                cell.span_of("variant").unwrap_or(cx.at),
                format!(
                    "variant `{variant}` needs /bin/sh, but base `{base}` has no shell (use exec-form or tini on `none`, or a base with a shell)"
                ),
            );
        }
        Some(Target::Container(ContainerSpec {
            variant: variant?,
            base: base?,
            init: cell.get("init").as_deref() == Some("true"),
        }))
    }

    /// A runtime and `--init`; the settings of graceful-server that the runtime has no use for
    /// are reported, each with what the runtime does instead.
    fn runtime_target(&mut self, cx: &Context, cell: &Cell<'_>) -> Option<Target> {
        let runtime = cell.get("runtime").and_then(|r| Runtime::parse(&r));
        if runtime.is_none() && !cell.values.contains_key("runtime") {
            self.error(
                cx.at,
                format!(
                    "{} has no `runtime` (one of: {}); set it here or in [defaults]",
                    cx.what,
                    names(Runtime::ALL.map(Runtime::name))
                ),
            );
        }
        let runtime = runtime?;
        self.not_applying(cell, &["signals", "keep-alive", "linger", "idle-timeout"], |key| {
            format!(
                "`{key}` configures graceful-server, and {runtime} is not it: leave it out of runtime scenarios"
            )
        });
        if !runtime.takes_mode() {
            self.not_applying(cell, &["mode"], |_| {
                format!(
                    "`mode` chooses node's server.js handler (node, npm-start); {runtime} has its own shutdown: leave it out"
                )
            });
        } else if let Some(mode) = cell.get("mode")
            && mode == ServerMode::Abrupt.name()
        {
            self.error(
                cell.span_of("mode").unwrap_or(cx.at),
                format!(
                    "{runtime}'s server.js is `graceful` (a SIGTERM handler that drains) or `unhandled` (none), not `abrupt`"
                ),
            );
        }
        if let Some(fixed) = runtime.fixed_delay() {
            self.not_applying(cell, &["delay"], |_| {
                format!(
                    "{runtime}'s slow path has its own length ({}): leave out `delay`, and send `path` requests to it",
                    crate::duration::format(fixed)
                )
            });
        }
        if runtime.takes_drain_timeout() {
            if let Some(timeout) = cell.duration("drain-timeout")
                && (timeout.subsec_nanos() != 0 || timeout.is_zero())
            {
                self.error(
                    cell.span_of("drain-timeout").unwrap_or(cx.at),
                    format!(
                        "drain-timeout {} is gunicorn's --graceful-timeout, which takes whole seconds (at least 1): write e.g. \"{}s\"",
                        crate::duration::format(timeout),
                        timeout.as_secs().max(1)
                    ),
                );
            }
        } else {
            self.not_applying(cell, &["drain-timeout"], |_| {
                format!(
                    "`drain-timeout` is gunicorn's --graceful-timeout for runtimes; {runtime} has none: leave it out"
                )
            });
        }
        Some(Target::Runtime(RuntimeSpec {
            runtime,
            init: cell.get("init").as_deref() == Some("true"),
        }))
    }

    /// The server's mode, delay, signals and drain timeout.
    fn server(&mut self, cx: &Context, cell: &Cell<'_>) -> Option<ServerSpec> {
        let fixed_delay = match cell.get("target").as_deref() {
            Some("runtime") => cell
                .get("runtime")
                .and_then(|r| Runtime::parse(&r))
                .and_then(Runtime::fixed_delay),
            _ => None,
        };
        let delay = fixed_delay.or_else(|| cell.duration("delay"));
        if delay.is_none() && !cell.values.contains_key("delay") {
            self.error(
                cx.at,
                format!(
                    "{} has no `delay` (the server's handler duration, like delay = \"1s\"); set it here or in [defaults]",
                    cx.what
                ),
            );
        }
        Some(ServerSpec {
            mode: cell
                .get("mode")
                .and_then(|m| m.parse::<ServerMode>().ok())
                .unwrap_or(ServerMode::Graceful),
            delay: delay?,
            signals: cell.get("signals").map(|list| {
                list.split(',')
                    .filter_map(StopSignal::parse)
                    .collect::<Vec<_>>()
            }),
            drain_timeout: cell.duration("drain-timeout"),
            keep_alive: cell
                .get("keep-alive")
                .and_then(|k| k.parse::<KeepAliveDrain>().ok()),
            linger: cell.duration("linger"),
            idle_timeout: cell.duration("idle-timeout"),
        })
    }

    /// The grace period: whole seconds for a container, as `docker stop` takes it.
    fn stop_timeout(&mut self, cx: &Context, cell: &Cell<'_>) -> Option<Duration> {
        let timeout = cell.duration("stop-timeout")?;
        let in_container = matches!(cell.get("target").as_deref(), Some("container" | "runtime"));
        if in_container && timeout.subsec_nanos() != 0 {
            self.error(
                cell.span_of("stop-timeout").unwrap_or(cx.at),
                format!(
                    "stop-timeout {} is not whole seconds: docker stop takes its grace period in seconds, so write e.g. \"{}s\"",
                    crate::duration::format(timeout),
                    timeout.as_secs().max(1)
                ),
            );
        }
        Some(timeout)
    }

    /// The requests, each checked; at least one, unless a load is sent.
    fn requests(
        &mut self,
        cx: &Context,
        requests: Option<&RequestsDoc>,
        has_load: bool,
        protocol: Protocol,
    ) -> Vec<RequestSpec> {
        let mut specs: Vec<RequestSpec> = Vec::new();
        match requests {
            None if has_load => {}
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
                    if let Some(spec) = self.request(request, &specs, protocol) {
                        specs.push(spec);
                    }
                }
            }
        }
        specs
    }

    /// When the stop is issued: `stop-at`, never before the requests meant to precede it; with
    /// a load and nothing else to go by, [`LOAD_STOP_AT`] into the stream.
    fn stop_at(
        &mut self,
        cx: &Context,
        cell: &Cell<'_>,
        specs: &[RequestSpec],
        has_load: bool,
    ) -> Duration {
        let lead = specs.iter().map(|r| (-r.at.0).max(0)).max().unwrap_or(0);
        let lead = Duration::from_millis(lead.unsigned_abs());
        let Some(at) = cell.duration("stop-at") else {
            return if has_load && specs.is_empty() {
                LOAD_STOP_AT
            } else {
                lead
            };
        };
        if at < lead {
            let first = specs
                .iter()
                .find(|r| Duration::from_millis((-r.at.0).max(0).unsigned_abs()) > at)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            self.error(
                cell.span_of("stop-at").unwrap_or(cx.at),
                format!(
                    "stop-at {} is too early: request `{first}` is sent {} before the stop, which would be before the server is ready (make stop-at at least {})",
                    crate::duration::format(at),
                    crate::duration::format(lead),
                    crate::duration::format(lead)
                ),
            );
        }
        at
    }
}
