//! Hostile input: the `.env` editor and the `setup.conf` reader against
//! generated files, and every input the fuzzers (fuzz/run.sh) ever broke
//! them with, kept in tests/suite/faults/regressions/.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};

use super::properties;

/// How many generated inputs each property test tries.
const CASES: usize = 4000;

fn seed() -> u64 {
    std::env::var("RECEPTOR_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>())
}

fn pick<'a>(rng: &mut impl Rng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

fn noise(rng: &mut impl Rng, max: usize) -> String {
    const ALPHABET: &[&str] = &[
        "a", "Z", "0", "_", "-", " ", "\t", "=", "#", "$", "{", "}", "'", "\"", "\\", "\n", "\r", "`", "é", "ü",
        "\u{0}", "\u{feff}", "\u{2028}", "export ", "${X}", "$$", "\\n", "\\\"", ":", "[", "]", ".",
    ];
    let n = rng.random_range(0..=max);
    (0..n).map(|_| pick(rng, ALPHABET)).collect()
}

/// A `.env`-like file: mostly well-formed lines, with hostile ones mixed in.
fn env_text(rng: &mut impl Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.random_range(0..12) {
        let key = pick(
            rng,
            &["A", "JWT_SECRET", "POSTGRES_PASSWORD", "B_2", "_X", "x.y", "9A", "A-B"],
        );
        let line = match rng.random_range(0..10) {
            0 => format!("# {}\n", noise(rng, 6)),
            1 => "\n".to_string(),
            2 => format!("{key}={}\n", noise(rng, 8)),
            3 => format!("{key}='{}'\n", noise(rng, 8)),
            4 => format!("{key}=\"{}\"\n", noise(rng, 8)),
            5 => format!("export {key}={} # {}\n", noise(rng, 3), noise(rng, 3)),
            6 => format!("{key}=\"{}\n{}\"\n", noise(rng, 3), noise(rng, 3)),
            7 => format!("{key}\n"),
            8 => format!("  {key} = {}\n", noise(rng, 4)),
            _ => noise(rng, 10),
        };
        text.push_str(&line);
    }
    if rng.random_bool(0.2) {
        text.pop();
    }
    text
}

fn edit(rng: &mut impl Rng) -> Vec<u8> {
    let mut data = vec![0xFF, rng.random::<u8>()];
    data.extend(noise(rng, 8).into_bytes());
    data
}

#[test]
fn env_properties_hold_on_generated_files() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    for case in 0..CASES {
        let mut data = env_text(&mut rng).into_bytes();
        if rng.random_bool(0.8) {
            data.extend(edit(&mut rng));
        }
        if rng.random_bool(0.05) {
            let at = rng.random_range(0..=data.len());
            data.insert(at, rng.random::<u8>());
        }
        let result = std::panic::catch_unwind(|| properties::env_properties(&data));
        assert!(
            result.is_ok(),
            "case {case} (RECEPTOR_FAULT_SEED={seed}) broke a property on {:?}",
            String::from_utf8_lossy(&data)
        );
    }
}

/// A `setup.conf`-like file: the real tables and keys, with hostile values.
fn conf_text(rng: &mut impl Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.random_range(0..10) {
        let line = match rng.random_range(0..9) {
            0 => format!(
                "[{}]\n",
                pick(
                    rng,
                    &["project", "stack", "secrets", "settings", "colour", "project.dev", ""]
                )
            ),
            1 => format!(
                "{} = \"{}\"\n",
                pick(
                    rng,
                    &[
                        "dev",
                        "source",
                        "upstream_ref",
                        "OPENAI_API_KEY",
                        "SMTP_PASS",
                        "JWT_SECRET",
                        "X"
                    ]
                ),
                noise(rng, 8)
            ),
            2 => format!(
                "{} = '{}'\n",
                pick(rng, &["prod", "upstream_url", "SMTP_PASS", "SITE_URL"]),
                noise(rng, 8)
            ),
            3 => format!(
                "{} = {}\n",
                pick(rng, &["source", "dev", "OPENAI_API_KEY"]),
                pick(
                    rng,
                    &[
                        "3",
                        "true",
                        "[1, 2]",
                        "{ a = 1 }",
                        "1979-05-27",
                        "embedded",
                        "\"${VAR}\""
                    ]
                )
            ),
            4 => format!(
                "{} = \"\"\"\n{}\n\"\"\"\n",
                pick(rng, &["dev", "SMTP_PASS"]),
                noise(rng, 6)
            ),
            5 => format!("# {}\n", noise(rng, 6)),
            6 => "\n".to_string(),
            7 => format!("{} = \"bws:{}\"\n", pick(rng, &["SMTP_PASS", "X"]), noise(rng, 4)),
            _ => noise(rng, 12),
        };
        text.push_str(&line);
    }
    text
}

#[test]
fn setup_conf_properties_hold_on_generated_files() {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    for case in 0..CASES {
        let text = conf_text(&mut rng);
        let result = std::panic::catch_unwind(|| properties::conf_properties(text.as_bytes()));
        assert!(
            result.is_ok(),
            "case {case} (RECEPTOR_FAULT_SEED={seed}) broke a property on {text:?}"
        );
    }
}

fn regressions(kind: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/suite/faults/regressions")
        .join(kind);
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_env_input_a_fuzzer_broke_is_fixed() {
    let cases = regressions("env");
    assert!(!cases.is_empty());
    for (name, data) in cases {
        let result = std::panic::catch_unwind(|| properties::env_properties(&data));
        assert!(result.is_ok(), "regression {name} is broken again");
    }
}

#[test]
fn every_setup_conf_input_a_fuzzer_broke_is_fixed() {
    let cases = regressions("conf");
    assert!(!cases.is_empty());
    for (name, data) in cases {
        let result = std::panic::catch_unwind(|| properties::conf_properties(&data));
        assert!(result.is_ok(), "regression {name} is broken again");
    }
}
