//! The confirmation asked before a change that ends every user session.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Result};

/// Asks on the terminal to type `yes`. `--yes` answers for automation; with
/// no terminal and no `--yes`, the run stops before changing anything (exit 3).
pub fn ask(what: &str, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Error::Unconfirmed(format!(
            "{what}: confirm in a terminal, or pass --yes to rotate without asking; nothing changed"
        )));
    }
    eprint!("{what}.\nType yes to go on: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|err| Error::Usage(format!("cannot read the answer: {err}; nothing changed")))?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Error::Usage("not confirmed; nothing changed".into()))
    }
}
