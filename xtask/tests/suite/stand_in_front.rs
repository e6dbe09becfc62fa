//! The stand-in for the template's `kong-front` (the nginx image) reads what nginx
//! reads: the test stack's service mounts the project's template where the template's
//! service does, with its environment, and the image renders it and serves every
//! `server` of the `nginx.conf` it gives, or stops on a directive it does not know,
//! naming the file and line as nginx does. On the real Docker engine; fails, never
//! skips, without it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{repo, stack};

/// The `kong-front` service of `file`, as `docker compose config` reads it (not interpolated).
fn front_service(file: &str) -> Value {
    let out = Command::new("docker")
        .args(["compose", "--project-directory", "/project", "-f"])
        .arg(repo().join(file))
        .args(["config", "--no-interpolate", "--format", "json"])
        .output()
        .expect("docker compose runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let config: Value = serde_json::from_slice(&out.stdout).unwrap();
    config["services"]["kong-front"].clone()
}

/// Each bind mount as (file name of its source, target, read only).
fn mounts(service: &Value) -> Vec<(String, String, bool)> {
    service["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let source = Path::new(v["source"].as_str().unwrap());
            (
                source.file_name().unwrap().to_string_lossy().into_owned(),
                v["target"].as_str().unwrap().to_owned(),
                v["read_only"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn the_test_stacks_kong_front_gets_the_templates_mount_and_environment() {
    let template = front_service("docker/docker-compose.yml");
    let test = front_service("tests/stack/compose.yaml");
    assert_eq!(test["environment"], template["environment"]);
    assert_eq!(mounts(&test), mounts(&template));
    assert_eq!(
        mounts(&template),
        [(
            "kong-front.conf.template".to_string(),
            "/etc/nginx/templates/nginx.conf.template".to_string(),
            true
        )]
    );
}

/// `docker run` of the gateway image's front with `template` mounted and the
/// environment of the template's service; `detach` leaves it running.
fn run_front(template: &Path, detach: bool) -> std::process::Output {
    let image = stack::images()
        .into_iter()
        .find(|(k, _)| k == "GATEWAY_IMAGE")
        .expect("build-images.sh names the gateway image")
        .1;
    let service = front_service("docker/docker-compose.yml");
    let target = &mounts(&service)[0].1;
    let mut cmd = Command::new("docker");
    cmd.args(["run", if detach { "--detach" } else { "--rm" }]);
    cmd.arg("--volume").arg(format!("{}:{target}:ro", template.display()));
    for (name, value) in service["environment"].as_object().unwrap() {
        cmd.args(["--env", &format!("{name}={}", value.as_str().unwrap())]);
    }
    cmd.args([image.as_str(), "front"]).output().expect("docker runs")
}

#[test]
fn the_image_serves_every_server_of_the_template_and_stops_on_a_directive_it_does_not_know() {
    let sb = crate::common::Sandbox::new();
    let template = repo().join("docker/volumes/api/kong-front.conf.template");
    let out = run_front(&template, true);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let started = Instant::now();
    let logs = loop {
        let logs = Command::new("docker").args(["logs", &id]).output().unwrap();
        let text = String::from_utf8_lossy(&logs.stderr).into_owned();
        if text.contains("0.0.0.0:8443") || started.elapsed() > Duration::from_secs(20) {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = Command::new("docker").args(["rm", "--force", &id]).output();
    assert!(
        logs.contains("Running envsubst on /etc/nginx/templates/nginx.conf.template to /etc/nginx/nginx.conf"),
        "{logs}"
    );
    assert!(logs.contains("listening on 0.0.0.0:8000, to kong:8000"), "{logs}");
    assert!(logs.contains("listening on 0.0.0.0:8443, to kong:8443"), "{logs}");

    let text = std::fs::read_to_string(&template).unwrap();
    let changed = text.replace(
        "proxy_next_upstream on;",
        "proxy_next_upstream on;\n    proxy_buffer_size 16k;",
    );
    let line = changed.lines().position(|l| l.contains("proxy_buffer_size")).unwrap() + 1;
    let bad = sb.path("kong-front.conf.template");
    std::fs::write(&bad, changed).unwrap();
    let out = run_front(&bad, false);
    assert_eq!(out.status.code(), Some(1), "a configuration error: nginx exits 1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "stand-in front: [emerg] unknown or unmodelled directive \"proxy_buffer_size\" in /etc/nginx/nginx.conf:{line}"
        )),
        "{stderr}"
    );
}
