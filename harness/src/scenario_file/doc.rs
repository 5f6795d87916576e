//! The scenario file as written: the serde types `toml` deserializes into, values with their spans.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, IntoDeserializer, SeqAccess, Visitor};
use toml::Spanned;

pub(super) type Sp<T> = Spanned<T>;

/// A setting's value: one, or (only meaningful in a matrix) a list of them, which is an axis.
#[derive(Debug, Clone)]
pub(super) enum OneOrMany<T> {
    One(T),
    Many(Vec<Sp<T>>),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value, or in a [[matrix]] a list of values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let d: de::value::StrDeserializer<E> = v.into_deserializer();
                T::deserialize(d).map(OneOrMany::One)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                let d: de::value::BoolDeserializer<E> = v.into_deserializer();
                T::deserialize(d).map(OneOrMany::One)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                let d: de::value::I64Deserializer<E> = v.into_deserializer();
                T::deserialize(d).map(OneOrMany::One)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                let d: de::value::F64Deserializer<E> = v.into_deserializer();
                T::deserialize(d).map(OneOrMany::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Sp<T>>()? {
                    items.push(item);
                }
                Ok(OneOrMany::Many(items))
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// `signals`: one signal, a list of signals (one value), or a list of lists (an axis).
#[derive(Debug, Clone)]
pub(super) enum SignalsDoc {
    Single(String),
    One(Vec<Sp<String>>),
    Many(Vec<Sp<Vec<Sp<String>>>>),
}

pub(super) enum StrOrList {
    Str(String),
    List(Vec<Sp<String>>),
}

impl<'de> Deserialize<'de> for StrOrList {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrOrList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a signal name or a list of signal names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StrOrList::Str(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Sp<String>>()? {
                    items.push(item);
                }
                Ok(StrOrList::List(items))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for SignalsDoc {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SignalsDoc;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of signal names (in a [[matrix]], a list of such lists)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(SignalsDoc::Single(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                let mut lists = Vec::new();
                while let Some(item) = seq.next_element::<Sp<StrOrList>>()? {
                    let span = item.span();
                    match item.into_inner() {
                        StrOrList::Str(s) => names.push(Sp::new(span, s)),
                        StrOrList::List(l) => lists.push(Sp::new(span, l)),
                    }
                }
                match (names.is_empty(), lists.is_empty()) {
                    (_, true) => Ok(SignalsDoc::One(names)),
                    (true, false) => Ok(SignalsDoc::Many(lists)),
                    (false, false) => Err(de::Error::custom(
                        "`signals` mixes names and lists: write a list of names (one value) or, in a [[matrix]], a list of lists (an axis)",
                    )),
                }
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Declares a table that holds the scalar settings plus some keys of its own (listed first).
macro_rules! settings_table {
    ($name:ident { $($field:ident : $ty:ty,)* }) => {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        pub(super) struct $name {
            $(pub(super) $field: $ty,)*
            pub(super) target: Option<Sp<OneOrMany<String>>>,
            pub(super) runtime: Option<Sp<OneOrMany<String>>>,
            pub(super) base: Option<Sp<OneOrMany<String>>>,
            pub(super) variant: Option<Sp<OneOrMany<String>>>,
            pub(super) init: Option<Sp<OneOrMany<bool>>>,
            pub(super) mode: Option<Sp<OneOrMany<String>>>,
            pub(super) delay: Option<Sp<OneOrMany<String>>>,
            pub(super) drain_timeout: Option<Sp<OneOrMany<String>>>,
            pub(super) stop_signal: Option<Sp<OneOrMany<String>>>,
            pub(super) stop_timeout: Option<Sp<OneOrMany<String>>>,
            pub(super) stop_at: Option<Sp<OneOrMany<String>>>,
            pub(super) client: Option<Sp<OneOrMany<String>>>,
            pub(super) keep_alive: Option<Sp<OneOrMany<String>>>,
            pub(super) linger: Option<Sp<OneOrMany<String>>>,
            pub(super) idle_timeout: Option<Sp<OneOrMany<String>>>,
            pub(super) protocol: Option<Sp<OneOrMany<String>>>,
        }

        impl $name {
            /// Moves the scalar settings out, as written.
            pub(super) fn take_scalars(&mut self) -> Vec<Setting> {
                let mut out = Vec::new();
                Setting::push_str(&mut out, "target", self.target.take());
                Setting::push_str(&mut out, "runtime", self.runtime.take());
                Setting::push_str(&mut out, "base", self.base.take());
                Setting::push_str(&mut out, "variant", self.variant.take());
                Setting::push_bool(&mut out, "init", self.init.take());
                Setting::push_str(&mut out, "mode", self.mode.take());
                Setting::push_str(&mut out, "delay", self.delay.take());
                Setting::push_str(&mut out, "drain-timeout", self.drain_timeout.take());
                Setting::push_str(&mut out, "stop-signal", self.stop_signal.take());
                Setting::push_str(&mut out, "stop-timeout", self.stop_timeout.take());
                Setting::push_str(&mut out, "stop-at", self.stop_at.take());
                Setting::push_str(&mut out, "client", self.client.take());
                Setting::push_str(&mut out, "keep-alive", self.keep_alive.take());
                Setting::push_str(&mut out, "linger", self.linger.take());
                Setting::push_str(&mut out, "idle-timeout", self.idle_timeout.take());
                Setting::push_str(&mut out, "protocol", self.protocol.take());
                out
            }
        }
    };
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct FileDoc {
    pub(super) defaults: Option<Sp<DefaultsDoc>>,
    pub(super) scenario: Option<Vec<Sp<ScenarioDoc>>>,
    pub(super) matrix: Option<Vec<Sp<MatrixDoc>>>,
}

settings_table!(DefaultsDoc {
    signals: Option<Sp<SignalsDoc>>,
    requests: Option<Sp<Vec<Sp<RequestDoc>>>>,
    load: Option<Sp<LoadDoc>>,
    rollout: Option<Sp<RolloutDoc>>,
    balancer: Option<Sp<BalancerDoc>>,
});

settings_table!(ScenarioDoc {
    name: Option<Sp<String>>,
    reason: Option<Sp<String>>,
    expect: Option<Sp<ExpectDoc>>,
    signals: Option<Sp<SignalsDoc>>,
    requests: Option<Sp<Vec<Sp<RequestDoc>>>>,
    load: Option<Sp<LoadDoc>>,
    rollout: Option<Sp<RolloutDoc>>,
    balancer: Option<Sp<BalancerDoc>>,
});

settings_table!(MatrixDoc {
    name: Option<Sp<String>>,
    reason: Option<Sp<String>>,
    expect: Option<Sp<ExpectDoc>>,
    exclude: Option<Vec<Sp<WhenDoc>>>,
    rule: Option<Vec<Sp<RuleDoc>>>,
    signals: Option<Sp<SignalsDoc>>,
    requests: Option<Sp<Vec<Sp<RequestDoc>>>>,
    load: Option<Sp<LoadDoc>>,
    rollout: Option<Sp<RolloutDoc>>,
    balancer: Option<Sp<BalancerDoc>>,
});

settings_table!(WhenDoc {});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RuleDoc {
    pub(super) when: Option<Sp<WhenDoc>>,
    pub(super) reason: Option<Sp<String>>,
    pub(super) expect: Option<Sp<ExpectDoc>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RequestDoc {
    pub(super) name: Option<Sp<String>>,
    pub(super) at: Option<Sp<String>>,
    pub(super) delay: Option<Sp<String>>,
    pub(super) download: Option<Sp<DownloadDoc>>,
    pub(super) path: Option<Sp<String>>,
    pub(super) stream: Option<Sp<StreamDoc>>,
}

/// `stream = { every = "100ms", for = "10s" }`: a long-lived stream of numbered messages.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct StreamDoc {
    pub(super) every: Option<Sp<String>>,
    #[serde(rename = "for")]
    pub(super) lasting: Option<Sp<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct DownloadDoc {
    pub(super) bytes: Option<Sp<i64>>,
    pub(super) rate: Option<Sp<i64>>,
}

/// `load = { rate = 200, duration = "4s", path = "/?delay=100ms", client = "pooled" }`;
/// `connections = 64` with `client = "fixed"`; `vantage = "host"` or `"netns"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct LoadDoc {
    pub(super) rate: Option<Sp<i64>>,
    pub(super) duration: Option<Sp<String>>,
    pub(super) path: Option<Sp<String>>,
    pub(super) client: Option<Sp<String>>,
    pub(super) connections: Option<Sp<i64>>,
    pub(super) vantage: Option<Sp<String>>,
}

/// `rollout = { replicas = 2, pre-stop = { exec = ["sleep", "2"] }, endpoint-lag = "1s",
/// termination-grace = "5s" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RolloutDoc {
    pub(super) replicas: Option<Sp<i64>>,
    pub(super) replace: Option<Sp<i64>>,
    pub(super) pre_stop: Option<Sp<PreStopDoc>>,
    pub(super) endpoint_lag: Option<Sp<String>>,
    pub(super) termination_grace: Option<Sp<String>>,
    pub(super) readiness: Option<Sp<ReadinessDoc>>,
    pub(super) address_reuse: Option<Sp<bool>>,
    pub(super) orchestrator: Option<Sp<String>>,
    pub(super) update_order: Option<Sp<String>>,
    pub(super) parallelism: Option<Sp<i64>>,
}

/// `readiness = { path = "/healthz", period = "500ms", timeout = "1s", success-threshold = 1,
/// initial-delay = "0s" }`: the kubelet's readiness probe, with Kubernetes' names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ReadinessDoc {
    pub(super) path: Option<Sp<String>>,
    pub(super) initial_delay: Option<Sp<String>>,
    pub(super) period: Option<Sp<String>>,
    pub(super) timeout: Option<Sp<String>>,
    pub(super) success_threshold: Option<Sp<i64>>,
}

/// `pre-stop = { exec = ["sleep", "2"] }` (a pod's `preStop.exec.command`) or
/// `pre-stop = { sleep = "2s" }` (`preStop.sleep.seconds`: the orchestrator waits).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct PreStopDoc {
    pub(super) exec: Option<Sp<Vec<Sp<String>>>>,
    pub(super) sleep: Option<Sp<String>>,
}

/// `balancer = { retries = 3, redispatch = false, retry-on = "conn-failure", reuse = "safe",
/// connect-timeout = "5s", keep-alive-timeout = "5s", checks = { inter = "2s", fall = 3, rise = 2 } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct BalancerDoc {
    pub(super) retries: Option<Sp<i64>>,
    pub(super) redispatch: Option<Sp<bool>>,
    pub(super) retry_on: Option<Sp<String>>,
    pub(super) reuse: Option<Sp<String>>,
    pub(super) connect_timeout: Option<Sp<String>>,
    pub(super) keep_alive_timeout: Option<Sp<String>>,
    pub(super) checks: Option<Sp<ChecksDoc>>,
    pub(super) latency: Option<Sp<String>>,
    pub(super) resolve_every: Option<Sp<String>>,
    pub(super) hold_obsolete: Option<Sp<String>>,
}

/// `checks = true` (HAProxy's own timings), `false`, or `{ inter = "200ms", fall = 2, rise = 1 }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum ChecksDoc {
    On(bool),
    Table(ChecksTableDoc),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ChecksTableDoc {
    pub(super) inter: Option<String>,
    pub(super) fall: Option<i64>,
    pub(super) rise: Option<i64>,
}

/// A number, or a word: a bound (`0`, `"all"`, `"some"`, `"<= 5"`), an exit code (`143`,
/// `"signal:SIGTERM"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum NumberOrWord {
    Number(i64),
    Text(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ExpectDoc {
    pub(super) requests: Option<BTreeMap<Sp<String>, Sp<String>>>,
    pub(super) load: Option<BTreeMap<Sp<String>, Sp<NumberOrWord>>>,
    pub(super) exit_code: Option<Sp<NumberOrWord>>,
    pub(super) signal_received: Option<Sp<bool>>,
    pub(super) stop_at_least: Option<Sp<String>>,
    pub(super) stop_below: Option<Sp<String>>,
    pub(super) lost: Option<Sp<NumberOrWord>>,
    pub(super) pre_stop: Option<Sp<String>>,
    pub(super) close_code: Option<Sp<i64>>,
    pub(super) goaway: Option<Sp<String>>,
    pub(super) streams_cut: Option<Sp<NumberOrWord>>,
    pub(super) last_event: Option<Sp<String>>,
    pub(super) grpc_status: Option<Sp<String>>,
}

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
