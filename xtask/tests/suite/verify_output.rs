//! `cargo xtask verify` output: the JSON schema, the JUnit report, and the
//! canary: no planted value reaches any byte of output, in any format.

use crate::common;

use common::Sandbox;
use xtask::secrets::{Role, Secret, jwt};

/// A repository and a dev project with problems in both scopes.
pub(crate) fn repo_with_findings() -> Sandbox {
    let sb = Sandbox::git_repo();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let key = sb.env_values("receptor-dev")["SERVICE_ROLE_KEY"].clone();
    sb.write("docs/notes.md", &format!("key & <more>: {key}\n"));
    sb.commit_all("notes");
    sb
}

#[test]
fn json_output_has_the_documented_fields() {
    let sb = repo_with_findings();
    let out = sb.xtask(["verify", "--scope", "all", "--format", "json"]).fails_with(1);
    let doc = out.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["tool"], "cargo xtask verify");
    assert_eq!(doc["scopes"], serde_json::json!(["repo", "project"]));
    assert_eq!(doc["strict"], false);
    assert_eq!(doc["exit_code"], 1);
    let checks = doc["checks"].as_array().unwrap();
    let summary = &doc["summary"];
    assert_eq!(summary["checks"].as_u64().unwrap() as usize, checks.len());
    assert_eq!(
        summary["passed"].as_u64().unwrap()
            + summary["warnings"].as_u64().unwrap()
            + summary["failed"].as_u64().unwrap(),
        checks.len() as u64
    );
    for check in checks {
        for field in ["id", "scope", "title", "status"] {
            assert!(check[field].is_string(), "{field} in {check}");
        }
        assert!(["pass", "warn", "fail"].contains(&check["status"].as_str().unwrap()));
        for finding in check["findings"].as_array().unwrap() {
            for field in ["status", "message", "fix"] {
                assert!(finding[field].is_string(), "{field} in {finding}");
            }
            let place = &finding["where"];
            for field in ["file", "line", "variable", "object"] {
                assert!(place.get(field).is_some(), "where.{field} in {finding}");
            }
        }
    }
    let leak = checks.iter().find(|c| c["id"] == "repo.leak-known-value").unwrap();
    assert_eq!(leak["status"], "fail");
    let place = &leak["findings"][0]["where"];
    assert_eq!(place["file"], "docs/notes.md");
    assert_eq!(place["line"], 1);
    assert_eq!(place["variable"], "SERVICE_ROLE_KEY");
}

#[test]
fn junit_output_is_well_formed_with_one_testcase_per_check() {
    let sb = repo_with_findings();
    let json = sb
        .xtask(["verify", "--scope", "all", "--format", "json"])
        .fails_with(1)
        .json();
    let out = sb
        .xtask(["verify", "--scope", "all", "--format", "junit"])
        .fails_with(1);
    let doc = roxmltree::Document::parse(&out.stdout).unwrap_or_else(|e| panic!("{e}:\n{}", out.stdout));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suites: Vec<_> = root.children().filter(|n| n.has_tag_name("testsuite")).collect();
    assert_eq!(
        suites.iter().map(|s| s.attribute("name").unwrap()).collect::<Vec<_>>(),
        ["repo", "project"]
    );
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    let checks = json["checks"].as_array().unwrap();
    assert_eq!(cases.len(), checks.len());
    for (case, check) in cases.iter().zip(checks) {
        assert_eq!(case.attribute("name"), check["id"].as_str());
        let failures = case.children().filter(|n| n.has_tag_name("failure")).count();
        assert_eq!(failures, usize::from(check["status"] == "fail"), "{}", check["id"]);
    }
    let failed = cases
        .iter()
        .find(|c| c.attribute("name") == Some("repo.leak-known-value"))
        .unwrap();
    let text = failed
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap()
        .text()
        .unwrap();
    assert!(text.contains("docs/notes.md:1 SERVICE_ROLE_KEY"), "{text}");
    assert_eq!(
        root.attribute("failures").unwrap(),
        json["summary"]["failed"].to_string()
    );
}

/// Known values planted everywhere verify looks: a project's `.env`, a tracked
/// doc, a tracked `.env`, `setup.conf`, `.env.example`, and history.
#[test]
fn canary_no_planted_value_reaches_any_output_in_any_format() {
    let sb = Sandbox::git_repo();
    sb.xtask(["setup", "--env", "dev"]).succeeds();
    let mut canaries: Vec<String> = sb
        .env_values("receptor-dev")
        .into_values()
        .filter(|v| v.len() >= 12)
        .collect();
    let example_canary = "CanaryExample0123456789abcdef012";
    let conf_canary = "canary-setup-conf-literal-98765";
    let tracked_canary = "CanaryTrackedEnv0123456789";
    let history_canary = format!("sb_secret_Canary{}", "H".repeat(24));
    let foreign = jwt::mint(
        Role::Anon,
        &Secret::new("CanaryForeignSecret0123456789abcdefghij"),
        jwt::now(),
    );
    let env = sb.env_values("receptor-dev");
    // The project: a weak vault key, a foreign anon key, a 0644 file.
    let weak_vault = "CanaryWeakVault0123456789abcdef";
    let text = sb
        .read("receptor-dev/.env")
        .replace(&env["VAULT_ENC_KEY"], weak_vault)
        .replace(&env["ANON_KEY"], foreign.expose());
    sb.write("receptor-dev/.env", &text);
    // The repository: every kind of leak.
    sb.write(
        "docs/leak.md",
        &format!("{}\n{}\n", env["JWT_SECRET"], env["SERVICE_ROLE_KEY"]),
    );
    sb.write(
        "docker/.env.example",
        &sb.read("docker/.env.example").replace(
            "PG_META_CRYPTO_KEY=\n",
            &format!("PG_META_CRYPTO_KEY={example_canary}\n"),
        ),
    );
    sb.write("config/.env", &format!("TOKEN={tracked_canary}\n"));
    sb.git(&["add", "-f", "config/.env"]);
    sb.write("old.sh", &format!("KEY={history_canary}\n"));
    sb.commit_all("planted");
    std::fs::remove_file(sb.path("old.sh")).unwrap();
    sb.commit_all("removed");
    canaries.extend([
        example_canary.to_string(),
        conf_canary.to_string(),
        tracked_canary.to_string(),
        history_canary,
        foreign.expose().to_string(),
        weak_vault.to_string(),
    ]);
    let canaries: Vec<&str> = canaries.iter().map(String::as_str).collect();
    for format in ["table", "json", "junit"] {
        for args in [
            vec!["--scope", "all", "--history"],
            vec!["--env", "staging", "--project-name", "receptor-dev"],
        ] {
            let out = sb
                .xtask(["verify", "--format", format].into_iter().chain(args))
                .fails_with(1);
            out.never_shows(&canaries);
        }
    }
    // A literal in setup.conf: a repo finding, and the project scope could not run. Still silent.
    sb.write(
        "setup.conf",
        &sb.read("setup.conf")
            .replace("\"${OPENAI_API_KEY}\"", &format!("\"{conf_canary}\"")),
    );
    sb.commit_all("literal");
    for format in ["table", "json", "junit"] {
        let repo = sb.xtask(["verify", "--history", "--format", format]).fails_with(1);
        repo.never_shows(&canaries);
        let staging = sb
            .xtask([
                "verify",
                "--scope",
                "all",
                "--env",
                "staging",
                "--project-name",
                "receptor-dev",
                "--format",
                format,
            ])
            .fails_with(2);
        staging.never_shows(&canaries);
    }
}
