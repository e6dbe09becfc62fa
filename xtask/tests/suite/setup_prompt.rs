//! Staging at a terminal: a missing Tier 1 secret is asked for, unseen,
//! typed twice, checked against its rule. Driven through a pseudo-terminal.

use crate::common;

use common::Sandbox;
use common::inject::{canaries, get, pairs, tier1, tier1_without};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

#[test]
fn a_missing_secret_is_asked_for_unseen_and_lands_in_env() {
    let sb = Sandbox::new();
    let values = tier1_without(&["JWT_SECRET"]);
    let typed = "CanaryTypedJwtSecretAt0123456789abcdefgh";
    let short = "CanaryShortOne";
    let mut pty = sb.xtask(["setup", "--env", "staging"]).envs(&pairs(&values)).in_pty();

    pty.expect("JWT_SECRET is not set in the environment (at least 32 base64 characters");
    pty.expect("  JWT_SECRET: ");
    pty.send(&format!("{short}\r"));
    pty.expect("JWT_SECRET must be at least 32 characters (has 14); try again");
    pty.expect_nth("  JWT_SECRET: ", 2);
    pty.send(&format!("{typed}\r"));
    pty.expect("  JWT_SECRET again: ");
    pty.send(&format!("{typed}x\r"));
    pty.expect("the two entries differ; try again");
    pty.expect_nth("  JWT_SECRET: ", 3);
    // Backspace edits what was typed, unseen too.
    pty.send(&format!("{typed}zz\x7f\x7f\r"));
    pty.expect_nth("  JWT_SECRET again: ", 2);
    pty.send(&format!("{typed}\r"));
    let (code, screen) = pty.finish();

    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains("Canary"),
        "a typed or injected value reached the terminal:\n{screen}"
    );
    assert!(
        screen.contains("prompt"),
        "the summary names the prompt as the source:\n{screen}"
    );
    let env = sb.env_values("receptor-stg");
    assert_eq!(env["JWT_SECRET"], typed);
    assert_eq!(env["POSTGRES_PASSWORD"], get(&values, "POSTGRES_PASSWORD"));
    let key = DecodingKey::from_secret(typed.as_bytes()).unwrap();
    let anon = jsonwebtoken::decode::<serde_json::Value>(&env["ANON_KEY"], &key, &Validation::new(Algorithm::HS256));
    assert_eq!(
        anon.unwrap().claims["role"],
        "anon",
        "keys are minted from the typed secret"
    );
}

#[test]
fn ctrl_c_at_a_prompt_writes_nothing_and_exits_3() {
    let sb = Sandbox::new();
    let values = tier1_without(&["VAULT_ENC_KEY"]);
    let mut pty = sb.xtask(["setup", "--env", "prod"]).envs(&pairs(&values)).in_pty();
    pty.expect("  VAULT_ENC_KEY: ");
    pty.send("CanaryHalfTyped\x03");
    let (code, screen) = pty.finish();
    assert_eq!(code, 3, "{screen}");
    assert!(
        screen.contains("error: VAULT_ENC_KEY: no value entered (interrupted)"),
        "{screen}"
    );
    assert!(!screen.contains("Canary"), "{screen}");
    assert!(!sb.path("receptor-prod/.env").exists());
}

#[test]
fn non_interactive_never_prompts_even_at_a_terminal() {
    let sb = Sandbox::new();
    let values = tier1_without(&["JWT_SECRET"]);
    let pty = sb
        .xtask(["setup", "--env", "staging", "--non-interactive"])
        .envs(&pairs(&values))
        .in_pty();
    let (code, screen) = pty.finish();
    assert_eq!(code, 3, "{screen}");
    assert!(screen.contains("(--non-interactive): JWT_SECRET;"), "{screen}");
    for value in canaries(&tier1()) {
        assert!(!screen.contains(value));
    }
}

/// SIGTERM, SIGHUP or SIGINT while a secret is typed ends the run as the
/// signal would, with the terminal given back as it was: echo and line
/// editing on, and nothing written.
#[test]
fn a_signal_during_a_prompt_restores_the_terminal() {
    for signal in [libc::SIGTERM, libc::SIGHUP, libc::SIGINT] {
        let sb = Sandbox::new();
        let values = tier1_without(&["JWT_SECRET"]);
        let mut pty = sb.xtask(["setup", "--env", "staging"]).envs(&pairs(&values)).in_pty();
        pty.expect("  JWT_SECRET: ");
        assert_eq!(
            pty.local_modes() & libc::ECHO,
            0,
            "echo is off while the secret is typed"
        );
        pty.send("CanaryHalfTyped");
        // SAFETY: kill has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(pty.pid(), signal) }, 0);
        let (code, screen, modes) = pty.finish_with_modes();
        assert_ne!(code, 0, "signal {signal}: the run ends\n{screen}");
        assert!(!screen.contains("Canary"), "{screen}");
        assert_ne!(modes & libc::ECHO, 0, "signal {signal}: echo is back on");
        assert_ne!(modes & libc::ICANON, 0, "signal {signal}: line editing is back on");
        assert!(
            !sb.path("receptor-stg/.env").exists(),
            "signal {signal}: nothing written"
        );
    }
}
