//! When each stage of a signing-key rotation may run. Switch waits for every
//! cache of the JWKS to have seen the standby key (GoTrue serves it with
//! `max-age=600`); revoke waits for the last token the old key signed to
//! expire (`JWT_EXPIRY` after the switch) plus a margin.

use serde::{Deserialize, Serialize};

use crate::clock;
use crate::hooks::hook;

use super::state::State;

/// The stages, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Publish a new key B that verifies but does not sign.
    Standby,
    /// B signs; the old key A still verifies; the ES256 API keys are re-minted with B.
    Switch,
    /// A leaves both key sets: tokens it signed stop working.
    Revoke,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Standby => "standby",
            Stage::Switch => "switch",
            Stage::Revoke => "revoke",
        }
    }
}

/// How long GoTrue lets a client cache its JWKS (`Cache-Control: max-age=600`).
pub const JWKS_MAX_AGE: u64 = 600;

/// The default margin after the last token of the old key expires.
pub const DEFAULT_MARGIN: u64 = 15 * 60;

/// GoTrue's default `JWT_EXPIRY`.
pub const DEFAULT_JWT_EXPIRY: u64 = 3600;

/// What the timing of the next stage depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// No service outside the stack caches the JWKS: switch need not wait.
    pub no_external_verifiers: bool,
    /// Seconds an access token lives (`JWT_EXPIRY`).
    pub jwt_expiry: u64,
    /// Seconds of margin before revoke.
    pub margin: u64,
}

/// The stage that comes next, and from when it may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Next {
    pub stage: Stage,
    pub due_at: u64,
}

/// The next stage of `state` (a new rotation when there is none, or it is
/// complete): `now` is when a new one may start.
pub fn next(state: Option<&State>, rules: &Rules, now: u64) -> Next {
    let state = state.filter(|s| !s.complete());
    match state.and_then(|s| s.done().map(|done| (s, done))) {
        None => Next {
            stage: Stage::Standby,
            due_at: now,
        },
        Some((s, Stage::Standby)) => {
            let standby = s.standby_at.unwrap_or(now);
            let wait = if rules.no_external_verifiers { 0 } else { JWKS_MAX_AGE };
            Next {
                stage: Stage::Switch,
                due_at: standby + wait,
            }
        }
        Some((s, _)) => Next {
            stage: Stage::Revoke,
            due_at: s.switch_at.unwrap_or(now) + rules.jwt_expiry + rules.margin,
        },
    }
}

/// The tool's clock, in Unix seconds. Test builds can move it forward
/// (`RECEPTOR_TEST_CLOCK_SKEW`), so the tests need not wait for a stage.
pub fn now() -> u64 {
    let real = crate::secrets::jwt::now();
    real.saturating_add_signed(hook!(clock_skew))
}

/// `2026-12-01T10:00:00Z (in 9 min)`, or `… (now)` once passed.
pub fn when(at: u64, now: u64) -> String {
    let stamp = clock::iso8601(at);
    if at <= now {
        format!("{stamp} (now)")
    } else {
        format!("{stamp} (in {})", span(at - now))
    }
}

/// `45 s`, `10 min`, `1 h 15 min`: rounded up to the minute past a minute.
pub fn span(secs: u64) -> String {
    if secs < 60 {
        return format!("{secs} s");
    }
    let minutes = secs.div_ceil(60);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// A duration that is not one (it is a flag's value, never a secret).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a duration: write seconds (900), or with units: 900s, 15m, 1h, 1h30m")]
pub struct DurationError {
    pub text: String,
}

/// `JWT_EXPIRY` is set and is not a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("JWT_EXPIRY is not a number of seconds")]
pub struct NotSeconds;

/// Reads a duration: `900`, `900s`, `15m`, `1h`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<u64, DurationError> {
    let bad = || DurationError { text: text.to_string() };
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut any_unit = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        digits.clear();
        any_unit = true;
    }
    if !digits.is_empty() {
        if any_unit {
            return Err(bad());
        }
        total = digits.parse().map_err(|_| bad())?;
    } else if !any_unit {
        return Err(bad());
    }
    Ok(total)
}

/// `JWT_EXPIRY` from `.env`: seconds, else GoTrue's default.
pub fn jwt_expiry(value: Option<&str>) -> Result<u64, NotSeconds> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(DEFAULT_JWT_EXPIRY),
        Some(v) => v.parse::<u64>().map_err(|_| NotSeconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        no_external_verifiers: false,
        jwt_expiry: 3600,
        margin: DEFAULT_MARGIN,
    };

    fn state(standby: Option<u64>, switch: Option<u64>, revoke: Option<u64>) -> State {
        State {
            old_kid: Some("a".into()),
            new_kid: Some("b".into()),
            standby_at: standby,
            switch_at: switch,
            revoke_at: revoke,
            running: None,
        }
    }

    #[test]
    fn each_stage_is_due_after_the_wait_before_it() {
        let now = 10_000;
        assert_eq!(
            next(None, &RULES, now),
            Next {
                stage: Stage::Standby,
                due_at: now
            }
        );
        let standby = state(Some(1000), None, None);
        assert_eq!(
            next(Some(&standby), &RULES, now),
            Next {
                stage: Stage::Switch,
                due_at: 1600
            }
        );
        let fast = Rules {
            no_external_verifiers: true,
            ..RULES
        };
        assert_eq!(next(Some(&standby), &fast, now).due_at, 1000);
        let switched = state(Some(1000), Some(2000), None);
        // 1 hour of JWT_EXPIRY and 15 minutes of margin: "1 hour → at least 1 hour and 15 minutes".
        assert_eq!(
            next(Some(&switched), &RULES, now),
            Next {
                stage: Stage::Revoke,
                due_at: 2000 + 4500
            }
        );
        let short = Rules {
            jwt_expiry: 60,
            margin: 0,
            ..RULES
        };
        assert_eq!(next(Some(&switched), &short, now).due_at, 2060);
        let done = state(Some(1000), Some(2000), Some(7000));
        assert_eq!(
            next(Some(&done), &RULES, now),
            Next {
                stage: Stage::Standby,
                due_at: now
            }
        );
        let legacy = State {
            old_kid: None,
            ..switched
        };
        assert_eq!(
            next(Some(&legacy), &RULES, now).stage,
            Stage::Standby,
            "a legacy rotation ends at its switch"
        );
    }

    #[test]
    fn durations_and_spans_read_as_people_write_them() {
        assert_eq!(parse_duration("900"), Ok(900));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("0s"), Ok(0));
        for bad in ["", "m", "15 minutes", "1h30", "-5", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(span(45), "45 s");
        assert_eq!(span(600), "10 min");
        assert_eq!(span(4500), "1 h 15 min");
        assert_eq!(span(3601), "1 h 1 min");
        assert_eq!(when(5, 10), "1970-01-01T00:00:05Z (now)");
        assert_eq!(jwt_expiry(None), Ok(3600));
        assert_eq!(jwt_expiry(Some("120")), Ok(120));
        assert!(jwt_expiry(Some("1h")).is_err());
        assert_eq!(
            parse_duration("1d").unwrap_err().to_string(),
            "\"1d\" is not a duration: write seconds (900), or with units: 900s, 15m, 1h, 1h30m"
        );
    }
}
