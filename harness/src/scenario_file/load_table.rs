//! A `load` table (`{ rate, duration, path, client, connections, vantage }`) into a [`LoadSpec`]: a steady stream of
//! requests across the stop. The `client` setting, which a matrix can make an axis, overrides
//! the table's.

use crate::model::load::{ClientProfile, LoadSpec, MAX_CONNECTIONS, MAX_RATE};
use crate::model::vantage::Vantage;

use super::doc::{LoadDoc, Sp};
use super::file::{Context, FileCx};
use super::values::parse_duration;

impl FileCx<'_> {
    /// The stream of `doc`: Some(None) without one, None when it is wrong (reported).
    pub(super) fn load(
        &mut self,
        cx: &Context,
        doc: Option<&Sp<LoadDoc>>,
        client_setting: Option<String>,
    ) -> Option<Option<LoadSpec>> {
        let Some(doc) = doc else {
            return Some(None);
        };
        let at = doc.span().start;
        let table = doc.get_ref();
        let mut ok = true;
        let rate = match &table.rate {
            None => {
                self.error(
                    at,
                    "`load` has no `rate` (requests per second, like rate = 200)",
                );
                None
            }
            Some(rate) if !(1..=i64::from(MAX_RATE)).contains(rate.get_ref()) => {
                self.error(
                    rate.span().start,
                    format!(
                        "load `rate` = {} is out of range: 1 to {MAX_RATE} requests per second",
                        rate.get_ref()
                    ),
                );
                None
            }
            Some(rate) => u32::try_from(*rate.get_ref()).ok(),
        };
        let duration = match &table.duration {
            None => {
                self.error(at, "`load` has no `duration` (like duration = \"4s\")");
                None
            }
            Some(text) => match parse_duration("duration", text.get_ref()) {
                Ok(duration) if duration.is_zero() => {
                    self.error(text.span().start, "load `duration` must be longer than 0");
                    None
                }
                Ok(duration) => Some(duration),
                Err(message) => {
                    self.error(text.span().start, message);
                    None
                }
            },
        };
        let path = match &table.path {
            None => "/".to_string(),
            Some(path) => {
                if let Some(problem) = crate::client::path_problem(path.get_ref()) {
                    self.error(path.span().start, format!("load `path`: {problem}"));
                    ok = false;
                }
                path.get_ref().clone()
            }
        };
        // The setting (canonical already) wins over the table's key.
        let client = match (client_setting, &table.client) {
            (Some(name), _) => ClientProfile::parse(&name),
            (None, Some(name)) => {
                let client = ClientProfile::parse(name.get_ref());
                if client.is_none() {
                    self.error(
                        name.span().start,
                        format!(
                            "unknown client {:?} for {}: write one of {}",
                            name.get_ref(),
                            cx.what,
                            ClientProfile::choices()
                        ),
                    );
                }
                client
            }
            (None, None) => Some(ClientProfile::Fresh),
        };
        // A connection count only means something to the fixed and h2c clients: elsewhere it
        // would be silently ignored, and the reader would think it held.
        let connections = match &table.connections {
            None => None,
            Some(count) if client.is_some_and(|c| !c.takes_connections()) => {
                self.error(
                    count.span().start,
                    format!(
                        "load `connections` is for client = \"fixed\" or \"h2c\" only: the {} client opens its connections as it needs them",
                        client.map_or("", ClientProfile::name)
                    ),
                );
                ok = false;
                None
            }
            Some(count) if !(1..=i64::from(MAX_CONNECTIONS)).contains(count.get_ref()) => {
                self.error(
                    count.span().start,
                    format!(
                        "load `connections` = {} is out of range: 1 to {MAX_CONNECTIONS}",
                        count.get_ref()
                    ),
                );
                ok = false;
                None
            }
            Some(count) => u16::try_from(*count.get_ref()).ok(),
        };
        let vantage = match &table.vantage {
            None => None,
            Some(name) => match Vantage::parse(name.get_ref()) {
                None => {
                    self.error(
                        name.span().start,
                        format!(
                            "unknown vantage {:?} for {}: write one of {}",
                            name.get_ref(),
                            cx.what,
                            Vantage::choices()
                        ),
                    );
                    ok = false;
                    None
                }
                Some(Vantage::Netns) if client.is_some_and(|c| !c.runs_in_netns()) => {
                    self.error(
                        name.span().start,
                        format!(
                            "load `vantage` = \"netns\" runs the load generator, which is client \"fresh\", \"fixed\" or \"h2c\": the {} client runs on the host only",
                            client.map_or("", ClientProfile::name)
                        ),
                    );
                    ok = false;
                    None
                }
                Some(vantage) => Some(vantage),
            },
        };
        if !ok {
            return None;
        }
        Some(Some(LoadSpec {
            rate: rate?,
            duration: duration?,
            path,
            client: client?,
            connections,
            vantage,
        }))
    }
}
