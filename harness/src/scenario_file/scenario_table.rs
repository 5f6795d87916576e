//! A `[[scenario]]` table: one scenario, its own settings over `[defaults]`.

use super::doc::{ScenarioDoc, Sp};
use super::file::{Context, FileCx, Produced};
use super::settings::{ExpectParts, Setting, TrafficDoc, Values};
use super::values::name_problem;

impl FileCx<'_> {
    pub(super) fn scenario(
        &mut self,
        doc: Sp<ScenarioDoc>,
        defaults: &Values,
        inherited: &TrafficDoc,
    ) -> Option<Produced> {
        let at = doc.span().start;
        let mut doc = doc.into_inner();
        let mut settings = doc.take_scalars();
        settings.extend(Setting::signals(doc.signals.take()));
        let mut values = defaults.clone();
        let own = self.single_values(settings, "[[scenario]]");
        values.extend(own.clone().unwrap_or_default());
        let traffic = TrafficDoc {
            requests: doc.requests.take(),
            load: doc.load.take(),
            rollout: doc.rollout.take(),
            balancer: doc.balancer.take(),
        }
        .over(inherited);

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
            &traffic,
            &expect,
            reason,
        )?;
        (name_ok && canon_ok).then_some(Produced {
            scenario,
            at,
            matrix: false,
        })
    }

    pub(super) fn check_name(&mut self, name: &Sp<String>) -> bool {
        match name_problem(name.get_ref()) {
            Some(problem) => {
                self.error(name.span().start, problem);
                false
            }
            None => true,
        }
    }
}
