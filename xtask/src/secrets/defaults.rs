//! Well-known insecure values: public placeholders that must never protect a stack.

use crate::secrets::name;

/// Placeholder values shipped in upstream `.env.example` files (current and older).
pub const KNOWN_DEFAULT_VALUES: &[(&str, &str)] = &[
    (name::POSTGRES_PASSWORD, "your-super-secret-and-long-postgres-password"),
    (
        name::JWT_SECRET,
        "your-super-secret-jwt-token-with-at-least-32-characters-long",
    ),
    (
        name::DASHBOARD_PASSWORD,
        "this_password_is_insecure_and_should_be_updated",
    ),
    (
        name::SECRET_KEY_BASE,
        "UpNVntn3cDxHJpq99YMc1T1AQgQpc8kfYTuRgBiYa15BLrx8etQoXz3gZv1/u2oq",
    ),
    (name::VAULT_ENC_KEY, "your-32-character-encryption-key"),
    (name::VAULT_ENC_KEY, "your-encryption-key-32-chars-min"),
    (name::REALTIME_DB_ENC_KEY, "your16charkey123"),
    (name::REALTIME_DB_ENC_KEY, "supabaserealtime"),
    (name::PG_META_CRYPTO_KEY, "your-encryption-key-32-chars-min"),
    (
        name::LOGFLARE_PUBLIC_ACCESS_TOKEN,
        "your-super-secret-and-long-logflare-key-public",
    ),
    (
        name::LOGFLARE_PRIVATE_ACCESS_TOKEN,
        "your-super-secret-and-long-logflare-key-private",
    ),
    (
        name::LOGFLARE_PUBLIC_ACCESS_TOKEN,
        "your-super-secret-and-long-logflare-key",
    ),
    (
        name::LOGFLARE_PRIVATE_ACCESS_TOKEN,
        "your-super-secret-and-long-logflare-key",
    ),
    (name::S3_PROTOCOL_ACCESS_KEY_ID, "625729a08b95bf1b7ff351a663f3a23c"),
    (
        name::S3_PROTOCOL_ACCESS_KEY_SECRET,
        "850181e4652dd023b7a98c58ae0d2d34bd487ee0cc3254aed6eda37307425907",
    ),
    (name::MINIO_ROOT_PASSWORD, "secret1234"),
    (name::SMTP_PASS, "fake_mail_password"),
    (name::OPENAI_API_KEY, "sk-proj-xxxxxxxx"),
];

/// JWT secrets that are public: a key that verifies under one of them is forgeable.
pub const KNOWN_DEFAULT_JWT_SECRETS: &[&str] = &[
    "your-super-secret-jwt-token-with-at-least-32-characters-long",
    "super-secret-jwt-token-with-at-least-32-characters-long",
];

/// Fixed opaque keys of the Supabase CLI's local stack.
pub const KNOWN_DEFAULT_OPAQUE_KEYS: &[&str] = &[
    "sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH",
    "sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz", // receptor-verify: allow (published by Supabase)
];

/// Whether `value` is a published placeholder, for `name` or for any secret
/// at all: a listed value, a published JWT secret, one of the Supabase CLI's
/// fixed `sb_` keys, or a JWK (or key set) whose `oct` key is a published JWT secret.
pub fn is_known_default(value: &str) -> bool {
    KNOWN_DEFAULT_VALUES.iter().any(|(_, known)| *known == value)
        || KNOWN_DEFAULT_JWT_SECRETS.contains(&value)
        || KNOWN_DEFAULT_OPAQUE_KEYS.contains(&value)
        || has_published_oct_key(value)
}

/// The names, among `vars` (name, value), that no catalog entry describes
/// and whose value is a published default (the Supabase CLI's fixed keys, say).
pub fn outside_catalog(vars: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
    vars.into_iter()
        .filter(|(name, value)| super::catalog::find(name).is_none() && is_known_default(value))
        .map(|(name, _)| name)
        .collect()
}

/// Whether `value` is JSON holding an `oct` JWK whose `k` is a published JWT secret.
fn has_published_oct_key(value: &str) -> bool {
    use base64::Engine as _;
    let value = value.trim_start();
    if !value.starts_with(['{', '[']) {
        return false;
    }
    let Ok(json) = serde_json::from_str::<serde_json::Value>(value) else {
        return false;
    };
    let keys: Vec<&serde_json::Value> = match &json {
        serde_json::Value::Array(keys) => keys.iter().collect(),
        serde_json::Value::Object(map) => match map.get("keys") {
            Some(serde_json::Value::Array(keys)) => keys.iter().collect(),
            _ => vec![&json],
        },
        _ => vec![],
    };
    keys.iter().any(|key| {
        let k = key.get("k").and_then(serde_json::Value::as_str).unwrap_or_default();
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(k.trim_end_matches('='))
            .unwrap_or_default();
        key.get("kty").and_then(serde_json::Value::as_str) == Some("oct")
            && KNOWN_DEFAULT_JWT_SECRETS.iter().any(|s| s.as_bytes() == secret)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_keys_and_secret_are_defaults_in_every_form() {
        for value in KNOWN_DEFAULT_OPAQUE_KEYS {
            assert!(is_known_default(value), "{value}");
        }
        assert!(is_known_default(
            "super-secret-jwt-token-with-at-least-32-characters-long"
        ));
        let k = "c3VwZXItc2VjcmV0LWp3dC10b2tlbi13aXRoLWF0LWxlYXN0LTMyLWNoYXJhY3RlcnMtbG9uZw";
        assert!(is_known_default(&format!(
            r#"[{{"kty":"oct","k":"{k}","alg":"HS256"}}]"#
        )));
        assert!(is_known_default(&format!(r#"{{"keys":[{{"kty":"oct","k":"{k}"}}]}}"#)));
        use base64::Engine as _;
        let other = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("another-secret-of-at-least-32-characters");
        assert!(!is_known_default(&format!(r#"[{{"kty":"oct","k":"{other}"}}]"#)));
        let altered = KNOWN_DEFAULT_OPAQUE_KEYS[1].replace('z', "A");
        assert!(!is_known_default(&altered));
    }
}
