//! The confirmation asked before a change that ends every user session.

use std::io::{BufRead, Write};

use crate::error::{Error, Result};

/// Asks on the terminal to type `yes`. `--yes` answers for automation; with
/// nobody to ask (`terminal` says why: no terminal, CI, `--non-interactive`)
/// and no `--yes`, the run stops before changing anything (exit 3).
pub fn ask(what: &str, yes: bool, terminal: std::result::Result<(), &str>) -> Result<()> {
    if yes {
        return Ok(());
    }
    if let Err(why) = terminal {
        return Err(Error::Unconfirmed(format!(
            "{what}: nobody to confirm ({why}): pass --yes to rotate without asking; nothing changed"
        )));
    }
    let stdin = std::io::stdin();
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
