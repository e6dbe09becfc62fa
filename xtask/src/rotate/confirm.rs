//! The confirmation asked before a change that ends every user session.

use std::io::{BufRead, Write};

use crate::error::Result;

use super::error::RotateError;

/// Asks on the terminal to type `yes`. `--yes` answers for automation; with
/// nobody to ask (`terminal` says why: no terminal, CI, `--non-interactive`)
/// and no `--yes`, the run stops before changing anything (exit 3).
pub fn ask(what: &'static str, yes: bool, terminal: std::result::Result<(), &'static str>) -> Result<()> {
    if yes {
        return Ok(());
    }
    if let Err(why) = terminal {
        return Err(RotateError::Unconfirmed { what, why }.into());
    }
    let stdin = std::io::stdin();
    eprint!("{what}.\nType yes to go on: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(RotateError::AnswerUnread)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(RotateError::NotConfirmed.into())
    }
}
