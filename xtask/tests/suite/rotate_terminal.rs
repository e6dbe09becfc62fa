//! `cargo xtask rotate` at a terminal, driven through a pseudo-terminal on
//! the real test stack: the confirmation before ending user sessions, and a
//! staging value typed at the prompt. Fails, never skips, without Docker.

use crate::common;

use common::stack::Stack;

#[test]
fn the_confirmation_and_the_prompt_at_a_terminal() {
    let stack = Stack::up();
    let old = stack.env();
    let text = stack.env_text();

    // Anything but "yes" stops before any change.
    let mut pty = stack.rotate(&["JWT_SECRET"]).in_pty();
    pty.expect("ends every user session");
    pty.expect("Type yes to go on: ");
    pty.send("no\r");
    let (code, screen) = pty.finish();
    assert_eq!(code, 2, "{screen}");
    assert!(screen.contains("not confirmed; nothing changed"), "{screen}");
    assert_eq!(stack.env_text(), text);

    let mut pty = stack.rotate(&["JWT_SECRET"]).in_pty();
    pty.expect("Type yes to go on: ");
    pty.send("yes\r");
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    let new = stack.env();
    stack.assert_works_with(&new);
    stack.assert_keys_refused(&old);
    for value in [&new["JWT_SECRET"], &new["ANON_KEY"], &old["JWT_SECRET"]] {
        assert!(!screen.contains(value.as_str()), "a value reached the terminal");
    }

    // Staging with nothing injected: the new password is asked for, unseen;
    // the value in use is refused.
    let typed = "CanaryTypedPassword0123456789ab";
    let mut pty = stack
        .sb
        .xtask([
            "rotate",
            "POSTGRES_PASSWORD",
            "--env",
            "staging",
            "--project-name",
            &stack.project,
        ])
        .in_pty();
    pty.expect("POSTGRES_PASSWORD is not set in the environment");
    pty.expect("  POSTGRES_PASSWORD: ");
    pty.send(&format!("{}\r", new["POSTGRES_PASSWORD"]));
    pty.expect("is the current value; type the new one");
    pty.expect_nth("  POSTGRES_PASSWORD: ", 2);
    pty.send(&format!("{typed}\r"));
    pty.expect("  POSTGRES_PASSWORD again: ");
    pty.send(&format!("{typed}\r"));
    let (code, screen) = pty.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("Canary"), "a typed value reached the terminal");
    assert!(screen.contains("typed at the prompt"), "{screen}");
    let rotated = stack.env();
    assert_eq!(rotated["POSTGRES_PASSWORD"], typed);
    stack.assert_works_with(&rotated);
}
