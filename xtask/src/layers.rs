//! The layering rules of `docs/architecture.md`, checked against the workspace's real
//! dependencies. Normal and build dependencies count; dev-dependencies are free.

/// The runtime and network stack a pure layer must not pull in.
const IO_STACK: [&str; 5] = ["tokio", "hyper", "hyper-util", "hyper-rustls", "reqwest"];

/// Every lark crate.
const OURS: [&str; 9] = [
    "lark-content",
    "lark-api",
    "lark-events",
    "lark-http",
    "lark-ws",
    "lark-redis",
    "larkrs",
    "lark-emulator",
    "larkrs-cli",
];

/// What each crate may use of ours, and what else it must not use.
fn rule(package: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match package {
        "lark-content" => (
            &[],
            &[
                "http",
                "tokio",
                "hyper",
                "hyper-util",
                "hyper-rustls",
                "reqwest",
            ],
        ),
        "lark-api" => (&["lark-content"], &IO_STACK),
        "lark-events" => (&["lark-content"], &[]),
        "lark-http" => (&["lark-api", "lark-content"], &[]),
        // The long connection and the Redis stores sit beside each other above the executor.
        "lark-ws" | "lark-redis" => (
            &["lark-http", "lark-api", "lark-events", "lark-content"],
            &[],
        ),
        "larkrs" => (
            &[
                "lark-content",
                "lark-api",
                "lark-events",
                "lark-http",
                "lark-ws",
                "lark-redis",
            ],
            &[],
        ),
        "lark-emulator" => (&[], &[]),
        "larkrs-cli" => (
            &[
                "larkrs",
                "lark-emulator",
                "lark-content",
                "lark-api",
                "lark-events",
                "lark-http",
                "lark-ws",
                "lark-redis",
            ],
            &[],
        ),
        _ => return None,
    })
}

pub(crate) fn check() -> Result<(), String> {
    let output = super::cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .map_err(|err| format!("could not start cargo metadata: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|err| format!("cargo metadata printed no JSON: {err}"))?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let mut broken = Vec::new();
    let mut checked = 0;
    for package in &packages {
        let name = package["name"].as_str().unwrap_or_default();
        let Some((allowed, forbidden)) = rule(name) else {
            continue;
        };
        checked += 1;
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            if dependency["kind"] == "dev" {
                continue;
            }
            let dep = dependency["name"].as_str().unwrap_or_default();
            if OURS.contains(&dep) && !allowed.contains(&dep) {
                broken.push(format!("{name} -> {dep}: not one of the crates it may use"));
            }
            if forbidden.contains(&dep) {
                broken.push(format!("{name} -> {dep}: this layer does no I/O"));
            }
        }
    }
    if checked < OURS.len() {
        return Err(format!(
            "only {checked} of the {} crates of docs/architecture.md are in the workspace",
            OURS.len()
        ));
    }
    if broken.is_empty() {
        println!("layers hold for {checked} crates");
        Ok(())
    } else {
        Err(broken.join("\n"))
    }
}
