//! A plain rotation while a staged one was cut short: refused (exit 2),
//! naming the stage and the command that repairs it, with every file left as
//! it was. Run anyway, it would be undone by that repair, which puts back the
//! `.env` from before the interrupted stage.

use crate::common;

use common::Sandbox;

/// `rotate ARGS` on project `p` of `sb`: exit 2, `says` on stderr, no file changed.
fn refused(sb: &Sandbox, args: &[&str], says: &str) {
    let before = common::tree(&sb.root);
    let mut all = vec!["rotate"];
    all.extend_from_slice(args);
    all.extend(["--yes", "--env", "dev", "--project-name", "p"]);
    let out = sb.xtask(all).fails_with(2);
    assert_eq!(out.one_line_error(), says, "rotate {args:?}");
    let values = sb.env_values("p");
    let secrets: Vec<&str> = values
        .iter()
        .filter(|(k, v)| v.len() >= 16 && !k.ends_with("_IMAGE"))
        .map(|(_, v)| v.as_str())
        .collect();
    out.never_shows(&secrets);
    common::assert_unchanged(&before, &sb.root, &format!("rotate {args:?}"));
}

#[test]
fn a_plain_rotation_is_refused_while_a_signing_key_stage_is_unfinished() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev", "--project-name", "p"]).succeeds();
    sb.write(
        "p/signing-key-rotation.json",
        r#"{"old_kid":null,"new_kid":"6f1d3c1e-0000-4000-8000-000000000001","running":{"stage":"standby","started_at":1780000000,"backup":".env.20260101T000000Z"}}"#,
    );
    for args in [
        &["POSTGRES_PASSWORD"][..],
        &["JWT_SECRET", "--dry-run"],
        &["--tier", "1"],
    ] {
        refused(
            &sb,
            args,
            "error: stage standby of the signing-key rotation started and did not finish; run cargo xtask rotate signing-key --env dev first: it rolls that back to .env.20260101T000000Z, then goes on",
        );
    }
}

#[test]
fn a_plain_rotation_is_refused_while_an_overlap_step_is_unfinished() {
    let sb = Sandbox::new();
    sb.xtask(["setup", "--env", "dev", "--project-name", "p"]).succeeds();
    sb.write(
        "p/api-key-overlap.json",
        r#"{"overlaps":{},"running":{"stage":"overlap","started_at":1780000000,"backup":".env.20260101T000000Z","keys":["SUPABASE_SECRET_KEY"]}}"#,
    );
    refused(
        &sb,
        &["SUPABASE_SECRET_KEY"],
        "error: the overlap step of SUPABASE_SECRET_KEY started and did not finish; run cargo xtask rotate SUPABASE_SECRET_KEY --overlap DURATION --env dev first: it rolls that back to .env.20260101T000000Z, then goes on",
    );
}
