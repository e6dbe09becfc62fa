//! New values from the operating system's random source.

use rand::TryRng;
use rand::rngs::SysRng;

use super::Secret;
use super::catalog::{Charset, SecretSpec};

const HEX: &[u8] = b"0123456789abcdef";
const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `len` characters drawn uniformly from `charset` (hex or alphanumeric).
pub fn random(charset: Charset, len: usize) -> Secret {
    let alphabet = match charset {
        Charset::Hex => HEX,
        _ => ALPHANUMERIC,
    };
    // Reject the bytes that would bias the modulo.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        SysRng
            .try_fill_bytes(&mut buf)
            .expect("the operating system's random source failed");
        for &byte in &buf {
            if (byte as usize) < limit && out.len() < len {
                out.push(alphabet[byte as usize % alphabet.len()] as char);
            }
        }
    }
    Secret::new(out)
}

/// A fresh value that satisfies `spec`'s rule, or `None` for secrets the tool never makes.
pub fn for_spec(spec: &SecretSpec) -> Option<Secret> {
    use crate::secrets::catalog::Make;
    let (charset, len) = match spec.make {
        Make::Random { charset, len } => (charset, len),
        Make::Opaque(kind) => return Some(super::opaque::generate(kind)),
        _ => return None,
    };
    loop {
        let value = random(charset, len);
        if !spec.rule.needs_letter || value.expose().chars().any(|c| c.is_ascii_alphabetic()) {
            return Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::catalog::{CATALOG, Make};
    use crate::secrets::rules;

    #[test]
    fn every_generated_value_passes_its_rule_and_gitlab_masking() {
        for spec in CATALOG.iter().filter(|s| matches!(s.make, Make::Random { .. })) {
            for _ in 0..50 {
                let value = for_spec(spec).unwrap();
                assert_eq!(rules::check(spec, value.expose(), &|_| None), Ok(()), "{}", spec.name);
                // GitLab masks a variable of 8+ characters from [a-zA-Z0-9_+=/@:.~-].
                assert!(value.expose().len() >= 8);
                assert!(value.expose().chars().all(|c| c.is_ascii_alphanumeric()));
            }
        }
    }

    #[test]
    fn values_do_not_repeat_and_use_the_whole_alphabet() {
        let a = random(Charset::Alphanumeric, 4000);
        let b = random(Charset::Alphanumeric, 4000);
        assert_ne!(a, b);
        for c in ALPHANUMERIC {
            assert!(a.expose().contains(*c as char), "{}", *c as char);
        }
    }
}
