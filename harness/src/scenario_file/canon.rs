//! Settings checked and written canonically (`TERM` becomes `SIGTERM`, `1000ms` becomes `1s`),
//! so that matrix conditions and name templates compare like with like.

use std::collections::BTreeMap;

use crate::model::runtime::Runtime;
use crate::model::variant::{Base, ServerMode, Variant};

use super::file::FileCx;
use super::settings::{Val, Values};
use super::values::{canon_duration, names, parse_duration, parse_signal};

impl FileCx<'_> {
    /// Every good value of a cell in canonical text, and whether all were good (bad ones are
    /// reported).
    pub(super) fn canonical(&mut self, values: &Values) -> (BTreeMap<&'static str, String>, bool) {
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
    pub(super) fn canon(&self, key: &str, value: &Val) -> Result<String, String> {
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
                "container" | "process" | "runtime" => Ok(text.to_string()),
                _ => Err(format!(
                    "unknown target {text:?}: write \"container\" (our server in a variant image), \"runtime\" (a runtime people ship) or \"process\""
                )),
            },
            "runtime" => Runtime::parse(text)
                .map(|r| r.name().to_string())
                .ok_or_else(|| {
                    format!(
                        "unknown runtime {text:?} (expected one of: {})",
                        names(Runtime::ALL.map(Runtime::name))
                    )
                }),
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
            "client" => crate::model::load::ClientProfile::parse(text)
                .map(|c| c.name().to_string())
                .ok_or_else(|| {
                    format!(
                        "unknown client {text:?}: write one of {}",
                        crate::model::load::ClientProfile::choices()
                    )
                }),
            "keep-alive" => text
                .parse::<server_contract::KeepAliveDrain>()
                .map(|k| k.name().to_string())
                .map_err(|_| {
                    format!(
                        "unknown keep-alive drain {text:?}: write \"close-idle\" (idle connections closed at the signal) or \"linger\" (served a while with Connection: close)"
                    )
                }),
            "linger" => parse_duration(key, text).and_then(|linger| {
                if linger > server_contract::MAX_LINGER {
                    Err(format!(
                        "`linger` = {text:?} is longer than the server's most, {}",
                        crate::duration::format(server_contract::MAX_LINGER)
                    ))
                } else {
                    Ok(canon_duration(linger))
                }
            }),
            "idle-timeout" => parse_duration(key, text).and_then(|idle| {
                let (least, most) = (
                    server_contract::MIN_IDLE_TIMEOUT,
                    server_contract::MAX_IDLE_TIMEOUT,
                );
                if (least..=most).contains(&idle) {
                    Ok(canon_duration(idle))
                } else {
                    Err(format!(
                        "`idle-timeout` = {text:?} is outside the server's range, {} to {}",
                        crate::duration::format(least),
                        crate::duration::format(most)
                    ))
                }
            }),
            "delay" | "drain-timeout" | "stop-timeout" | "stop-at" => {
                parse_duration(key, text).map(canon_duration)
            }
            _ => Err(format!("`{key}` cannot take {text:?}")),
        }
    }
}
