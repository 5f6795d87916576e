//! Checks a container started with testcontainers: our exec-form image, `docker stop` while a
//! request is in flight, both requirements printed and asserted.
//!
//! Run with `cargo run -p shutdown-harness --example check_testcontainer` (needs a Docker engine).

use std::time::Duration;

use shutdown_harness::images::build_variant_images;
use shutdown_harness::{Base, CheckOptions, Engine, Met, Variant, Workspace, check_testcontainer};
use testcontainers::core::{IntoContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Nothing can be pulled: build the image locally first; testcontainers then finds it (it
    // pulls only when creating the container answers 404).
    let here = std::env::current_dir()?;
    let workspace = Workspace::find_from(&here).ok_or("run this from the project's checkout")?;
    let engine = Engine::connect().await?;
    let pair = (Variant::ExecForm, Base::Dash);
    let images = build_variant_images(&engine, &workspace, &[pair]).await?;
    let image = images.get(&pair).ok_or("the image was built")?;
    let (name, tag) = image.rsplit_once(':').ok_or("the image has a tag")?;

    let container = GenericImage::new(name, tag)
        .with_exposed_port(1202.tcp())
        .with_wait_for(WaitFor::message_on_stdout("Start Server"))
        // So `shutdown-harness clean` finds it if this example is interrupted.
        .with_label("shutdown-harness.managed", "true")
        .start()
        .await?;

    let options = CheckOptions {
        stop_timeout: Duration::from_secs(5),
        ..CheckOptions::new(1202, "/?delay=2s")
    };
    let result = check_testcontainer(&container, &options).await;
    // The check leaves the container stopped; its owner removes it.
    container.rm().await?;
    let result = result?;

    println!("checked {image} (testcontainers)");
    for check in &result.verdict.requirements {
        let met = match check.met {
            Met::Yes => "met",
            Met::No => "NOT met",
            Met::Untested(_) => "not tested",
        };
        println!(
            "  {}: {met} ({})",
            check.requirement.statement(),
            check.evidence
        );
    }
    assert!(
        result
            .verdict
            .requirements
            .iter()
            .all(|c| c.met == Met::Yes),
        "both requirements hold for the exec-form image"
    );
    Ok(())
}
