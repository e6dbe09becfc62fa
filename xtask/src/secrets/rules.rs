//! Checks a value against its catalog rule and the known insecure defaults.

use std::fmt;

use super::asymmetric;
use super::catalog::{Make, SecretSpec};
use super::defaults::is_known_default;
use super::jwt::{self, KeyFault};
use crate::secrets::name;

/// Why a value is not acceptable. Never holds the value itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A public placeholder (or a key signed with a public secret).
    KnownDefault,
    TooShort {
        min: usize,
        got: usize,
    },
    WrongLength {
        exact: usize,
        got: usize,
    },
    BadCharacter {
        allowed: &'static str,
    },
    NoLetter,
    SameAs(&'static str),
    /// A derived key that does not verify under `JWT_SECRET` with its role.
    KeyMismatch(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::KnownDefault => f.write_str("is a published default value, known to anybody"),
            Violation::TooShort { min, got } => write!(f, "must be at least {min} characters (has {got})"),
            Violation::WrongLength { exact, got } => write!(f, "must be exactly {exact} characters (has {got})"),
            Violation::BadCharacter { allowed } => write!(f, "may hold only {allowed}"),
            Violation::NoLetter => f.write_str("must contain at least one letter"),
            Violation::SameAs(other) => write!(f, "must differ from {other}"),
            Violation::KeyMismatch(why) => f.write_str(why),
        }
    }
}

/// Checks a non-empty `value` for `spec`. `others` gives the values of the
/// rest of the file, for the rules that compare two variables.
pub fn check(spec: &SecretSpec, value: &str, others: &dyn Fn(&str) -> Option<String>) -> Result<(), Violation> {
    if is_known_default(value) {
        return Err(Violation::KnownDefault);
    }
    let rule = &spec.rule;
    if let Some(current) = spec.previous_of() {
        // Judged as the key it overlaps, and never the same value.
        if others(current.name).as_deref() == Some(value) {
            return Err(Violation::SameAs(current.name));
        }
        return check(current, value, others);
    }
    if spec.is_asymmetric() {
        return asymmetric::check(spec, value, others).map_err(|flaw| Violation::KeyMismatch(flaw.to_string()));
    }
    if let Make::Minted(role) = spec.make {
        let secret = others(name::JWT_SECRET).unwrap_or_default();
        return match jwt::judge(value, &secret, role, jwt::now()) {
            Ok(_) => Ok(()),
            Err(KeyFault::PublishedSigner) => Err(Violation::KnownDefault),
            Err(KeyFault::WrongRole(found)) => Err(Violation::KeyMismatch(format!(
                "has {} where role {} is required",
                jwt::claim_phrase("role", &found),
                role.claim()
            ))),
            Err(fault) => Err(Violation::KeyMismatch(fault.to_string())),
        };
    }
    if !value.chars().all(|c| rule.charset.allows(c)) {
        return Err(Violation::BadCharacter {
            allowed: rule.charset.describe(),
        });
    }
    // Lengths in bytes, as the services read them (the same as characters
    // for every charset but a third party's printable one).
    let got = value.len();
    if let Some(exact) = rule.exact_len {
        if got != exact {
            return Err(Violation::WrongLength { exact, got });
        }
    } else if got < rule.min_len {
        return Err(Violation::TooShort { min: rule.min_len, got });
    }
    if rule.needs_letter && !value.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(Violation::NoLetter);
    }
    if let Some(other) = rule.differs_from
        && others(other).as_deref() == Some(value)
    {
        return Err(Violation::SameAs(other));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::catalog::{Role, find};
    use crate::secrets::{Secret, jwt};

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn each_rule_names_what_is_wrong() {
        let vault = find("VAULT_ENC_KEY").unwrap();
        assert_eq!(
            check(vault, &"a".repeat(31), &none),
            Err(Violation::WrongLength { exact: 32, got: 31 })
        );
        assert_eq!(check(vault, &"a".repeat(32), &none), Ok(()));
        let jwt_secret = find("JWT_SECRET").unwrap();
        assert_eq!(
            check(jwt_secret, "short", &none),
            Err(Violation::TooShort { min: 32, got: 5 })
        );
        let pg = find("POSTGRES_PASSWORD").unwrap();
        assert!(matches!(
            check(pg, "abcdefgh$ijklmnopq", &none),
            Err(Violation::BadCharacter { .. })
        ));
        let dash = find("DASHBOARD_PASSWORD").unwrap();
        assert_eq!(check(dash, "12345678901234567890", &none), Err(Violation::NoLetter));
    }

    #[test]
    fn every_published_default_is_refused() {
        for (name, value) in crate::secrets::defaults::KNOWN_DEFAULT_VALUES {
            let spec = find(name).unwrap();
            assert_eq!(check(spec, value, &none), Err(Violation::KnownDefault), "{name}");
        }
    }

    #[test]
    fn upstream_generate_keys_values_are_accepted() {
        // `openssl rand -base64 30 / 48 / 24`, as upstream's generate-keys.sh makes them.
        for (name, value) in [
            ("JWT_SECRET", "q1w+e2r/t3y4u5i6o7p8a9s0d1f2g3h4j5k6l7z8"),
            (
                "SECRET_KEY_BASE",
                "Zx9+/Yw8Xv7Uu6Tt5Ss4Rr3Qq2Pp1Oo0Nn9Mm8Ll7Kk6Jj5Ii4Hh3Gg2Ff1Ee0Dd",
            ),
            ("PG_META_CRYPTO_KEY", "AbCd+/EfGh12IjKl34MnOp56QrSt78=="),
            ("LOGFLARE_PUBLIC_ACCESS_TOKEN", "Pub+/1234567890abcdefghijklmnopq"),
        ] {
            assert_eq!(value.len() % 4, 0, "{name}: a base64 length");
            assert_eq!(check(find(name).unwrap(), value, &none), Ok(()), "{name}");
        }
        let short = "AbCd+/EfGh12IjKl34MnOp56QrSt78=";
        assert_eq!(
            check(find("PG_META_CRYPTO_KEY").unwrap(), short, &none),
            Err(Violation::TooShort { min: 32, got: 31 })
        );
        assert!(matches!(
            check(find("JWT_SECRET").unwrap(), &format!("{}$", "a".repeat(40)), &none),
            Err(Violation::BadCharacter { .. })
        ));
        // A third party's value is measured in bytes, as the service reads it.
        assert_eq!(
            check(find("MINIO_ROOT_PASSWORD").unwrap(), "ééé", &none),
            Err(Violation::TooShort { min: 8, got: 6 })
        );
    }

    #[test]
    fn the_logflare_tokens_must_differ() {
        let token = "a".repeat(40);
        let spec = find("LOGFLARE_PUBLIC_ACCESS_TOKEN").unwrap();
        let same = |_: &str| Some("a".repeat(40));
        assert_eq!(
            check(spec, &token, &same),
            Err(Violation::SameAs("LOGFLARE_PRIVATE_ACCESS_TOKEN"))
        );
    }

    #[test]
    fn derived_keys_must_verify_under_the_current_secret_with_their_role() {
        let secret = "s".repeat(40);
        let lookup = |name: &str| (name == "JWT_SECRET").then(|| "s".repeat(40));
        let anon = find("ANON_KEY").unwrap();
        let good = jwt::mint(Role::Anon, &Secret::new(&secret), jwt::now());
        assert_eq!(check(anon, good.expose(), &lookup), Ok(()));
        let swapped = jwt::mint(Role::ServiceRole, &Secret::new(&secret), jwt::now());
        assert!(matches!(
            check(anon, swapped.expose(), &lookup),
            Err(Violation::KeyMismatch(_))
        ));
        let foreign = jwt::mint(Role::Anon, &Secret::new("t".repeat(40)), jwt::now());
        assert!(matches!(
            check(anon, foreign.expose(), &lookup),
            Err(Violation::KeyMismatch(_))
        ));
    }
}
