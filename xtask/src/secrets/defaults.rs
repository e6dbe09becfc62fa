//! Well-known insecure values: public placeholders that must never protect a stack.

/// Placeholder values shipped in upstream `.env.example` files (current and older).
pub const KNOWN_DEFAULT_VALUES: &[(&str, &str)] = &[
    ("POSTGRES_PASSWORD", "your-super-secret-and-long-postgres-password"),
    (
        "JWT_SECRET",
        "your-super-secret-jwt-token-with-at-least-32-characters-long",
    ),
    ("DASHBOARD_PASSWORD", "this_password_is_insecure_and_should_be_updated"),
    (
        "SECRET_KEY_BASE",
        "UpNVntn3cDxHJpq99YMc1T1AQgQpc8kfYTuRgBiYa15BLrx8etQoXz3gZv1/u2oq",
    ),
    ("VAULT_ENC_KEY", "your-32-character-encryption-key"),
    ("VAULT_ENC_KEY", "your-encryption-key-32-chars-min"),
    ("REALTIME_DB_ENC_KEY", "your16charkey123"),
    ("REALTIME_DB_ENC_KEY", "supabaserealtime"),
    ("PG_META_CRYPTO_KEY", "your-encryption-key-32-chars-min"),
    (
        "LOGFLARE_PUBLIC_ACCESS_TOKEN",
        "your-super-secret-and-long-logflare-key-public",
    ),
    (
        "LOGFLARE_PRIVATE_ACCESS_TOKEN",
        "your-super-secret-and-long-logflare-key-private",
    ),
    (
        "LOGFLARE_PUBLIC_ACCESS_TOKEN",
        "your-super-secret-and-long-logflare-key",
    ),
    (
        "LOGFLARE_PRIVATE_ACCESS_TOKEN",
        "your-super-secret-and-long-logflare-key",
    ),
    ("S3_PROTOCOL_ACCESS_KEY_ID", "625729a08b95bf1b7ff351a663f3a23c"),
    (
        "S3_PROTOCOL_ACCESS_KEY_SECRET",
        "850181e4652dd023b7a98c58ae0d2d34bd487ee0cc3254aed6eda37307425907",
    ),
    ("MINIO_ROOT_PASSWORD", "secret1234"),
    ("SMTP_PASS", "fake_mail_password"),
    ("OPENAI_API_KEY", "sk-proj-xxxxxxxx"),
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

/// Whether `value` is a published placeholder, for `name` or for any secret at all.
pub fn is_known_default(value: &str) -> bool {
    KNOWN_DEFAULT_VALUES.iter().any(|(_, known)| *known == value)
        || KNOWN_DEFAULT_JWT_SECRETS.contains(&value)
        || KNOWN_DEFAULT_OPAQUE_KEYS.contains(&value)
}
