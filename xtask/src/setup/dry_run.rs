//! `setup --dry-run`: the plan a run would apply, shown as the same summary
//! table (never a value), and the files it would create or change. Nothing
//! is written or created, not even the project folder, and nobody is asked
//! for a value.

use std::path::Path;

use super::plan::{self, Inputs};
use crate::error::Result;
use crate::layout;
use crate::project::Project;
use crate::provenance::Origin;
use crate::sources::lookup::Sources;

/// How the run's stack template relates to the one the project records.
pub(super) enum Template<'a> {
    /// The one the project was laid out from.
    Same,
    /// A project without a record: this run's would be recorded.
    Record,
    /// `--upgrade` from the recorded one.
    Upgrade(&'a Origin, &'a Origin),
}

/// Plans the run on `project` and prints the plan; writes nothing.
pub(super) fn show(
    root: &Path,
    project: &Project,
    sources: &mut Sources<'_>,
    inputs: &Inputs<'_>,
    template: &Path,
    stack: Template<'_>,
) -> Result<()> {
    let plan = plan::make(project, sources, inputs)?;
    let (new, laid) = layout::preview(template, &project.dir)?;
    let shown = |rel: &str| super::display(root, &project.dir.join(rel));

    println!("dry run: nothing is written; this is what setup would do");
    println!("{}", plan.summary());
    if !project.dir.exists() {
        println!("would create {}/ (mode 0700)", super::display(root, &project.dir));
    }
    println!(
        "would copy {} template file(s) into {}/, {} already present",
        new.len(),
        super::display(root, &project.dir),
        laid.kept
    );
    for file in &new {
        println!("  {}", shown(&file.display().to_string()));
    }
    if layout::would_ignore(&project.dir)? {
        println!("would write {}", shown(".gitignore"));
    }
    match stack {
        Template::Same => {}
        Template::Record => println!(
            "would record the stack template in {} and {}/",
            shown(".xtask-stack"),
            shown(".xtask-template")
        ),
        Template::Upgrade(old, origin) => println!(
            "would upgrade the stack template from {old} to {origin}: unmodified template files replaced, modified ones kept with the new version next to each as FILE.new"
        ),
    }
    let env = shown(".env");
    match (&plan.existing, plan.changes_env()) {
        (Some(_), true) => println!(
            "would back up the previous .env to {}/ and write {env} (mode 0600)",
            shown("backups")
        ),
        (None, _) => println!("would write {env} (mode 0600)"),
        (Some(_), false) => println!("no changes: {env} is up to date"),
    }
    Ok(())
}
