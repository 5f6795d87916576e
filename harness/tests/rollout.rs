//! Rolling updates behind a real HAProxy on the engine: what makes a rollout lossless.

mod common;

use std::time::Duration;

use shutdown_harness::balancer::BalancerSettings;
use shutdown_harness::reproduce::{self, Timings};
use shutdown_harness::{
    ClientProfile, LoadSpec, PreStop, RolloutSpec, RunOptions, Scenario, Target, report,
};

use common::{assert_run_left_nothing, engine, workspace};

fn base(name: &str) -> Scenario {
    reproduce::scenarios(Timings::fast())
        .into_iter()
        .find(|s| s.name == name)
        .expect("the experiment has it")
}

#[tokio::test]
async fn probe() {
    let mut scenarios = Vec::new();
    for (name, from, pre_stop, lag) in [
        ("exec/none/lag0", "container/exec-form", PreStop::None, 0),
        ("exec/none/lag1", "container/exec-form", PreStop::None, 1000),
        (
            "exec/sleep2/lag1",
            "container/exec-form",
            PreStop::Exec(vec!["sleep".into(), "2".into()]),
            1000,
        ),
        ("shell/none/lag0", "container/shell-form", PreStop::None, 0),
    ] {
        let mut s = base(from);
        s.name = name.to_string();
        s.requests = Vec::new();
        s.expect = Default::default();
        s.stop.at = Duration::from_secs(1);
        s.load = Some(LoadSpec {
            rate: 100,
            duration: Duration::from_secs(1),
            path: "/?delay=100ms".to_string(),
            client: ClientProfile::Fresh,
        });
        s.rollout = Some(RolloutSpec {
            replicas: 2,
            pre_stop,
            endpoint_lag: Duration::from_millis(lag),
            termination_grace: Duration::from_secs(4),
            balancer: BalancerSettings::default(),
        });
        assert!(matches!(s.target, Target::Container(_)));
        scenarios.push(s);
    }
    let engine = engine().await;
    let options = RunOptions::new(Some(workspace()));
    let results = shutdown_harness::run(Some(&engine), &scenarios, &options, &mut ())
        .await
        .expect("the run completes");
    assert_run_left_nothing(&options.run_id).await;
    for s in &results.scenarios {
        println!("{}", serde_json::to_string(&s.observation.rollout).unwrap());
        if let Some(e) = &s.error {
            println!("ERROR {e}");
        }
    }
    println!("{}", report::human::render(&results));
}
