//! `JWT_KEYS` and `JWT_JWKS` embed the HS256 secret as an `oct` JWK whose
//! `k` is the base64url of `JWT_SECRET`'s bytes. When the secret rotates,
//! that `k` is replaced in place and every other byte of the value is kept.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD, URL_SAFE_NO_PAD_INDIFFERENT};
use serde_json::Value;

use crate::secrets::Secret;

/// `text` (the value of `name`) with the `k` of each `oct` key that holds
/// `old` replaced by `new`. Refuses what it cannot parse, a set without such
/// a key, and a `k` it cannot replace in place. Messages never hold a value.
pub fn rebuild(name: &str, text: &str, old: &Secret, new: &Secret) -> Result<String, String> {
    let parsed: Value = serde_json::from_str(text).map_err(|err| {
        format!(
            "{name} is not valid JSON (line {}, column {}); fix it, or empty it for legacy HS256 mode, then rotate again",
            err.line(),
            err.column()
        )
    })?;
    let keys = match &parsed {
        Value::Array(keys) => keys,
        Value::Object(set) => match set.get("keys") {
            Some(Value::Array(keys)) => keys,
            _ => {
                return Err(format!(
                    "{name} is a JSON object without a \"keys\" array; it cannot be rebuilt"
                ));
            }
        },
        _ => {
            return Err(format!(
                "{name} is neither a JWK array nor a {{\"keys\": [...]}} set; it cannot be rebuilt"
            ));
        }
    };
    let holds_old = |key: &Value| {
        key.get("kty").and_then(Value::as_str) == Some("oct")
            && key
                .get("k")
                .and_then(Value::as_str)
                .and_then(|k| URL_SAFE_NO_PAD_INDIFFERENT.decode(k).ok())
                .is_some_and(|bytes| bytes == old.expose().as_bytes())
    };
    let old_ks: Vec<&str> = keys
        .iter()
        .filter(|key| holds_old(key))
        .filter_map(|key| key.get("k").and_then(Value::as_str))
        .collect();
    if old_ks.is_empty() {
        return Err(format!(
            "{name} holds no oct key made from the current JWT_SECRET; rebuild it by hand, or empty it for legacy HS256 mode, then rotate again"
        ));
    }
    let mut out = text.to_string();
    for k in &old_ks {
        let padded = k.ends_with('=');
        let new_k = if padded {
            URL_SAFE.encode(new.expose())
        } else {
            URL_SAFE_NO_PAD.encode(new.expose())
        };
        out = out.replace(&format!("\"{k}\""), &format!("\"{new_k}\""));
    }
    // The edit must read back as the same key set with only those `k`s changed.
    let mut expected = parsed.clone();
    let expected_keys = match &mut expected {
        Value::Array(keys) => keys,
        Value::Object(set) => set
            .get_mut("keys")
            .and_then(Value::as_array_mut)
            .expect("checked above"),
        _ => unreachable!("checked above"),
    };
    for key in expected_keys.iter_mut().filter(|key| holds_old(key)) {
        let padded = key["k"].as_str().is_some_and(|k| k.ends_with('='));
        key["k"] = Value::String(if padded {
            URL_SAFE.encode(new.expose())
        } else {
            URL_SAFE_NO_PAD.encode(new.expose())
        });
    }
    match serde_json::from_str::<Value>(&out) {
        Ok(reread) if reread == expected => Ok(out),
        _ => Err(format!(
            "{name}: the oct key's k cannot be replaced in place (it is written in an unusual way); rebuild it by hand, then rotate again"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "OldSecretOldSecretOldSecretOldSecret0000";
    const NEW: &str = "NewSecretNewSecretNewSecretNewSecret1111";

    fn k(secret: &str) -> String {
        URL_SAFE_NO_PAD.encode(secret)
    }

    #[test]
    fn the_oct_key_gets_the_new_k_and_everything_else_stays_byte_for_byte() {
        let ec = r#"{"kty":"EC","kid":"a1","crv":"P-256","x":"xx","y":"yy","alg":"ES256","key_ops":["verify"]}"#;
        let keys = format!(
            "[{ec}, {{\"kty\": \"oct\", \"k\": \"{}\", \"alg\": \"HS256\", \"key_ops\": [\"sign\",\"verify\"]}}]",
            k(OLD)
        );
        let out = rebuild("JWT_KEYS", &keys, &Secret::new(OLD), &Secret::new(NEW)).unwrap();
        assert_eq!(out, keys.replace(&k(OLD), &k(NEW)));
        let jwks = format!("{{\"keys\":[{{\"kty\":\"oct\",\"k\":\"{}=\"}}]}}", k(OLD));
        let out = rebuild("JWT_JWKS", &jwks, &Secret::new(OLD), &Secret::new(NEW)).unwrap();
        assert!(out.contains(&URL_SAFE.encode(NEW)));
        assert!(!out.contains(&k(OLD)));
    }

    #[test]
    fn what_cannot_be_rebuilt_is_refused_without_showing_a_value() {
        let (old, new) = (Secret::new(OLD), Secret::new(NEW));
        for (text, why) in [
            (format!("[{{\"kty\":\"oct\",\"k\":\"{}\"", k(OLD)), "not valid JSON"),
            ("{\"x\":1}".to_string(), "without a \"keys\" array"),
            ("\"a string\"".to_string(), "neither"),
            (format!("[{{\"kty\":\"oct\",\"k\":\"{}\"}}]", k(NEW)), "no oct key"),
        ] {
            let err = rebuild("JWT_KEYS", &text, &old, &new).unwrap_err();
            assert!(err.contains(why), "{err}");
            assert!(!err.contains(OLD) && !err.contains(&k(OLD)) && !err.contains(NEW));
        }
    }
}
