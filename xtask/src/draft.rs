//! The `.env` as a run decides it: the file as it is, and the decisions made
//! for its variables, each carrying the value it gives. Deciding reads the
//! values as they will be; [`Draft::render`] writes them into the file, in
//! the order decided: the one place a decided value turns into text.

use std::path::Path;

use crate::envfile::{At, EnvError, EnvFile};
use crate::secrets::Secret;

/// What a task decided for one variable.
pub trait Decision {
    /// The variable.
    fn name(&self) -> &str;
    /// The value the `.env` will hold; `None` leaves its line as it is.
    fn value(&self) -> Option<&Secret>;
}

/// A `.env` and the decisions made for it, in the order made.
#[derive(Debug)]
pub struct Draft<D> {
    file: EnvFile,
    decisions: Vec<D>,
}

impl<D: Decision> Draft<D> {
    /// No decision yet on `file`.
    pub fn new(file: EnvFile) -> Draft<D> {
        Draft {
            file,
            decisions: Vec::new(),
        }
    }

    /// The file as it is, before any decision.
    pub fn file(&self) -> &EnvFile {
        &self.file
    }

    /// The path messages name the file by.
    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The value of `name` as it will be: the last one decided, else the file's.
    pub fn get(&self, name: &str) -> Option<String> {
        match self.decided(name) {
            Some(value) => Some(value.expose().to_string()),
            None => self.file.get(name),
        }
    }

    /// [`Draft::get`], as a secret.
    pub fn secret(&self, name: &str) -> Option<Secret> {
        match self.decided(name) {
            Some(value) => Some(value.clone()),
            None => self.file.secret(name),
        }
    }

    fn decided(&self, name: &str) -> Option<&Secret> {
        self.decisions
            .iter()
            .rev()
            .filter(|d| d.name() == name)
            .find_map(Decision::value)
    }

    /// Whether the file will declare `name`.
    pub fn declares(&self, name: &str) -> bool {
        self.file.line_of(name).is_some() || self.decided(name).is_some()
    }

    /// The line that will declare `name`: its own, or the one a new
    /// variable is appended at.
    pub fn line_of(&self, name: &str) -> Option<usize> {
        self.file.line_of(name).or_else(|| self.render().ok()?.line_of(name))
    }

    /// Where `name` will be declared, for a message.
    pub fn at(&self, name: &str) -> At {
        At {
            path: self.path().to_path_buf(),
            line: self.line_of(name).unwrap_or(0),
        }
    }

    /// Adds `decision`. A value the `.env` cannot carry (a line break,
    /// characters that do not read back) is refused now, as writing it would be.
    pub fn decide(&mut self, decision: D) -> Result<(), EnvError> {
        self.check(&decision)?;
        self.decisions.push(decision);
        Ok(())
    }

    /// Puts `decision` in the place of the one at `at`, checked as [`Draft::decide`] does.
    pub fn replace(&mut self, at: usize, decision: D) -> Result<(), EnvError> {
        self.check(&decision)?;
        self.decisions[at] = decision;
        Ok(())
    }

    fn check(&self, decision: &D) -> Result<(), EnvError> {
        match decision.value() {
            Some(value) => self.file.clone().set(decision.name(), value.expose()),
            None => Ok(()),
        }
    }

    /// The decisions, in the order made.
    pub fn decisions(&self) -> &[D] {
        &self.decisions
    }

    pub fn into_decisions(self) -> Vec<D> {
        self.decisions
    }

    /// The file with every decided value written, in the order decided: an
    /// edited line stays where it is, a new variable is appended.
    pub fn render(&self) -> Result<EnvFile, EnvError> {
        let mut file = self.file.clone();
        for decision in &self.decisions {
            if let Some(value) = decision.value() {
                file.set(decision.name(), value.expose())?;
            }
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Set(&'static str, Option<Secret>);

    impl Decision for Set {
        fn name(&self) -> &str {
            self.0
        }
        fn value(&self) -> Option<&Secret> {
            self.1.as_ref()
        }
    }

    #[test]
    fn values_read_as_they_will_be_and_are_written_once_in_the_order_decided() {
        let file = EnvFile::parse(Path::new(".env"), "# keep\nA=1\nB=2\n".into()).unwrap();
        let mut draft = Draft::new(file);
        draft.decide(Set("B", Some(Secret::new("new")))).unwrap();
        draft.decide(Set("C", Some(Secret::new("c")))).unwrap();
        draft.decide(Set("B", None)).unwrap();
        draft.decide(Set("D", Some(Secret::new("d")))).unwrap();
        assert_eq!(draft.get("B").as_deref(), Some("new"));
        assert_eq!(draft.get("A").as_deref(), Some("1"));
        assert!(draft.declares("C") && !draft.declares("E"));
        assert_eq!((draft.line_of("B"), draft.line_of("D")), (Some(3), Some(5)));
        assert_eq!(draft.file().text(), "# keep\nA=1\nB=2\n");
        assert_eq!(draft.render().unwrap().text(), "# keep\nA=1\nB=new\nC=c\nD=d\n");
    }

    #[test]
    fn a_value_a_env_cannot_carry_is_refused_when_decided() {
        let file = EnvFile::parse(Path::new(".env"), "A=1\n".into()).unwrap();
        let mut draft = Draft::new(file);
        let err = draft.decide(Set("A", Some(Secret::new("two\nlines")))).unwrap_err();
        assert_eq!(
            err.to_string(),
            ".env: A cannot be written: a value must fit on one line"
        );
        assert!(draft.decisions().is_empty());
    }
}
