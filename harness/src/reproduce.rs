//! The experiment as scenarios: bare processes (abrupt versus graceful), then the shell-form and
//! exec-form containers on the dash base.

use std::time::Duration;

use crate::model::outcome::{Expected, Outcome};
use crate::model::scenario::{
    ContainerSpec, Expectations, Offset, RequestKind, RequestSpec, Scenario, ServerSpec, StopSpec,
    Target,
};
use crate::model::variant::{Base, ServerMode, StopSignal, Variant};

/// The experiment's timings, or scaled-down ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    /// The handler's duration.
    pub handler: Duration,
    /// For processes: the signal, counted from start (`timeout 3`).
    pub process_stop_at: Duration,
    /// For containers: `docker stop`, counted from the in-flight request.
    pub stop_into_request: Duration,
    /// `docker stop`'s grace period (whole seconds: the API takes seconds).
    pub grace: Duration,
    /// The second request, counted from the stop.
    pub after_stop: Duration,
}

impl Timings {
    /// The blog's: 5 s handler, stop 1 s into the request, 10 s grace, second request 1 s later.
    pub fn experiment() -> Timings {
        Timings {
            handler: Duration::from_secs(5),
            process_stop_at: Duration::from_secs(3),
            stop_into_request: Duration::from_secs(1),
            grace: Duration::from_secs(10),
            after_stop: Duration::from_secs(1),
        }
    }

    /// Scaled down for tests and `--fast`: the same shape in about two seconds per scenario.
    pub fn fast() -> Timings {
        Timings {
            handler: Duration::from_millis(1000),
            process_stop_at: Duration::from_millis(600),
            stop_into_request: Duration::from_millis(300),
            grace: Duration::from_secs(2),
            after_stop: Duration::from_millis(300),
        }
    }
}

/// The four scenarios of the experiment, in the order it runs them.
pub fn scenarios(t: Timings) -> Vec<Scenario> {
    vec![
        process(t, ServerMode::Abrupt),
        process(t, ServerMode::Graceful),
        container(t, Variant::ShellForm),
        container(t, Variant::ExecForm),
    ]
}

fn requests(in_flight_lead: Duration, after_stop: Duration) -> Vec<RequestSpec> {
    vec![
        RequestSpec {
            name: "in-flight".to_string(),
            at: Offset(-(in_flight_lead.as_millis() as i64)),
            kind: RequestKind::Slow { delay: None },
        },
        RequestSpec {
            name: "after-stop".to_string(),
            at: Offset(after_stop.as_millis() as i64),
            kind: RequestKind::Slow { delay: None },
        },
    ]
}

fn server(t: Timings, mode: ServerMode) -> ServerSpec {
    ServerSpec {
        mode,
        delay: t.handler,
        signals: None,
        drain_timeout: None,
        keep_alive: None,
        linger: None,
        idle_timeout: None,
    }
}

/// Phase 1: the server as a bare process, SIGTERM at `process_stop_at`; the request was sent a
/// third of the way in, as in the blog (curl about a second after `timeout 3` started).
fn process(t: Timings, mode: ServerMode) -> Scenario {
    let lead = t.process_stop_at * 2 / 3;
    let (in_flight, exit_code, reason) = match mode {
        ServerMode::Graceful => (
            Expected::Is(Outcome::Ok),
            0,
            "the server drains the in-flight request, then exits 0; its listener is closed",
        ),
        _ => (
            Expected::NotServed,
            2,
            "the abrupt server exits (2, as a Go program without signal handling) at the signal: the in-flight request is cut",
        ),
    };
    Scenario {
        name: format!("process/{mode}"),
        target: Target::Process,
        server: server(t, mode),
        stop: StopSpec {
            signal: StopSignal::Sigterm,
            timeout: t.grace,
            at: t.process_stop_at,
            from_path: None,
        },
        requests: requests(lead, t.after_stop),
        load: None,
        rollout: None,
        expect: Expectations {
            requests: vec![
                ("in-flight".to_string(), in_flight),
                ("after-stop".to_string(), Expected::Is(Outcome::Refused)),
            ],
            exit_code: Some(exit_code),
            signal_received: Some(true),
            stop_at_least: None,
            stop_below: Some(t.grace),
            load: Vec::new(),
            thresholds: Vec::new(),
            load_in_flight: None,
            rollout: None,
            streams: Default::default(),
        },
        reason: Some(reason.to_string()),
    }
}

/// Phase 2: the graceful server in a container on the dash base, `docker stop` mid-request.
fn container(t: Timings, variant: Variant) -> Scenario {
    let shell = variant == Variant::ShellForm;
    let expect = if shell {
        Expectations {
            requests: vec![
                ("in-flight".to_string(), Expected::Is(Outcome::Ok)),
                // The shell keeps SIGTERM from the server, which goes on serving.
                ("after-stop".to_string(), Expected::Is(Outcome::Ok)),
            ],
            exit_code: Some(137),
            signal_received: Some(false),
            stop_at_least: Some(t.grace),
            stop_below: None,
            load: Vec::new(),
            thresholds: Vec::new(),
            load_in_flight: None,
            rollout: None,
            streams: Default::default(),
        }
    } else {
        Expectations {
            requests: vec![
                ("in-flight".to_string(), Expected::Is(Outcome::Ok)),
                ("after-stop".to_string(), Expected::NotServed),
            ],
            exit_code: Some(0),
            signal_received: Some(true),
            stop_at_least: None,
            stop_below: Some(t.grace),
            load: Vec::new(),
            thresholds: Vec::new(),
            load_in_flight: None,
            rollout: None,
            streams: Default::default(),
        }
    };
    let reason = if shell {
        "dash runs `sh -c server` as PID 1 and neither handles nor forwards SIGTERM: the server keeps serving until SIGKILL"
    } else {
        "the server is PID 1, gets SIGTERM, closes its listener and drains the in-flight request"
    };
    Scenario {
        name: format!("container/{variant}"),
        target: Target::Container(ContainerSpec {
            variant,
            base: Base::Dash,
            init: false,
        }),
        server: server(t, ServerMode::Graceful),
        stop: StopSpec {
            signal: StopSignal::Sigterm,
            timeout: t.grace,
            at: t.stop_into_request,
            from_path: None,
        },
        requests: requests(t.stop_into_request, t.after_stop),
        load: None,
        rollout: None,
        expect,
        reason: Some(reason.to_string()),
    }
}
