//! The model: plain data every layer shares and none of them owns: what to run (scenario,
//! variant, runtime, rollout, load and its vantage, PID 1), what a run emits (events), what was seen
//! (observation, long-lived streams), what was judged (verdict) and each scenario's result. It imports no layer
//! (engine, run, images, balancer); they import it.

pub mod engine_info;
pub mod events;
pub mod load;
pub mod observation;
pub mod outcome;
pub mod pid1;
pub mod readiness;
pub mod results;
pub mod rollout;
pub mod runtime;
pub mod scenario;
pub mod stream_expect;
pub mod streams;
pub mod vantage;
pub mod variant;
pub mod verdict;
