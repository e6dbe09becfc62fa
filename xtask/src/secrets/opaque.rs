//! The opaque API keys `SUPABASE_PUBLISHABLE_KEY` (`sb_publishable_…`) and
//! `SUPABASE_SECRET_KEY` (`sb_secret_…`): a prefix, 22 random base64url
//! characters, `_`, and an 8-character checksum over the project ref
//! (`supabase-self-hosted` for self-hosted stacks). Read by position: the
//! random part and the checksum may themselves hold `_` and `-`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRng;
use rand::rngs::SysRng;
use sha2::{Digest, Sha256};

use super::Secret;

/// The project ref self-hosted stacks compute the checksum with.
pub const SELF_HOSTED_REF: &str = "supabase-self-hosted";
const RANDOM_LEN: usize = 22;
const CHECKSUM_LEN: usize = 8;

/// Which of the two opaque keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opaque {
    /// Public, for browsers and apps: Kong swaps it for the anon JWT.
    Publishable,
    /// Privileged, for servers: Kong swaps it for the service_role JWT.
    Secret,
}

impl Opaque {
    pub fn prefix(self) -> &'static str {
        match self {
            Opaque::Publishable => "sb_publishable_",
            Opaque::Secret => "sb_secret_",
        }
    }

    /// The whole key's length: 46 (publishable) or 41 (secret).
    pub fn key_len(self) -> usize {
        self.prefix().len() + RANDOM_LEN + 1 + CHECKSUM_LEN
    }
}

/// The checksum of `body` (prefix and random part): the first 8 characters
/// of base64url(SHA-256(`project_ref` + `|` + `body`)).
pub fn checksum(project_ref: &str, body: &str) -> String {
    let digest = Sha256::digest(format!("{project_ref}|{body}").as_bytes());
    URL_SAFE_NO_PAD.encode(digest)[..CHECKSUM_LEN].to_string()
}

/// A fresh key of `kind`: 17 random bytes, base64url, cut to 22 characters.
pub fn generate(kind: Opaque) -> Secret {
    let mut bytes = [0u8; 17];
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random source failed");
    let body = format!("{}{}", kind.prefix(), &URL_SAFE_NO_PAD.encode(bytes)[..RANDOM_LEN]);
    let sum = checksum(SELF_HOSTED_REF, &body);
    Secret::new(format!("{body}_{sum}"))
}

/// Why a value is not a sound key of its kind. Never holds the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    WrongPrefix(&'static str),
    WrongLength { want: usize, got: usize },
    BadCharacter,
    BadChecksum,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::WrongPrefix(prefix) => write!(f, "must start with {prefix}"),
            Problem::WrongLength { want, got } => write!(f, "must be exactly {want} characters (has {got})"),
            Problem::BadCharacter => f.write_str("may hold only base64url characters [A-Za-z0-9_-] after its prefix"),
            Problem::BadChecksum => write!(
                f,
                "has a checksum that does not match (computed with project ref {SELF_HOSTED_REF})"
            ),
        }
    }
}

/// Checks `value` as a key of `kind`: prefix, length, characters, checksum.
pub fn check(kind: Opaque, value: &str) -> Result<(), Problem> {
    if !value.starts_with(kind.prefix()) {
        return Err(Problem::WrongPrefix(kind.prefix()));
    }
    let got = value.chars().count();
    if got != kind.key_len() {
        return Err(Problem::WrongLength {
            want: kind.key_len(),
            got,
        });
    }
    let rest = &value[kind.prefix().len()..];
    let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !rest.chars().all(base64url) || rest.as_bytes()[RANDOM_LEN] != b'_' {
        return Err(Problem::BadCharacter);
    }
    let (body, sum) = value.split_at(kind.key_len() - CHECKSUM_LEN - 1);
    if checksum(SELF_HOSTED_REF, body) != sum[1..] {
        return Err(Problem::BadChecksum);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_upstream_shape_and_check() {
        for kind in [Opaque::Publishable, Opaque::Secret] {
            for _ in 0..200 {
                let key = generate(kind);
                let key = key.expose();
                assert_eq!(key.len(), kind.key_len());
                assert_eq!(check(kind, key), Ok(()), "{kind:?}");
            }
        }
        assert_eq!(Opaque::Publishable.key_len(), 46);
        assert_eq!(Opaque::Secret.key_len(), 41);
    }

    #[test]
    fn the_checksum_is_read_by_position_not_by_splitting_on_underscores() {
        // A random part full of `_` and `-`.
        let body = format!("{}a_b-c_d-e_f-g_h-i_j-k_", Opaque::Secret.prefix());
        let key = format!("{body}_{}", checksum(SELF_HOSTED_REF, &body));
        assert_eq!(check(Opaque::Secret, &key), Ok(()));
    }

    #[test]
    fn each_problem_is_named() {
        let good = generate(Opaque::Secret).expose().to_string();
        assert_eq!(
            check(Opaque::Publishable, &good),
            Err(Problem::WrongPrefix("sb_publishable_"))
        );
        assert_eq!(
            check(Opaque::Secret, &good[..40]),
            Err(Problem::WrongLength { want: 41, got: 40 })
        );
        let mut bad = good.clone().into_bytes();
        bad[12] = b'!';
        assert_eq!(
            check(Opaque::Secret, &String::from_utf8(bad).unwrap()),
            Err(Problem::BadCharacter)
        );
        let last = good.chars().last().unwrap();
        let flipped = format!("{}{}", &good[..40], if last == 'A' { 'B' } else { 'A' });
        assert_eq!(check(Opaque::Secret, &flipped), Err(Problem::BadChecksum));
        assert!(!Problem::BadChecksum.to_string().contains(&good));
    }
}
