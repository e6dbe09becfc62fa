//! Tier 1 values as an operator injects them in staging or prod: sound,
//! distinct, and each holding a canary that tests search every output for.

/// The signing key set and `sb_` keys an operator injects, made once per
/// test process for `JWT_SECRET`'s canary: every call of [`tier1`] agrees.
fn primary_model(jwt_secret: &str) -> Vec<(&'static str, String)> {
    static MODEL: std::sync::OnceLock<Vec<(&'static str, String)>> = std::sync::OnceLock::new();
    MODEL
        .get_or_init(|| {
            let secret = xtask::secrets::Secret::new(jwt_secret);
            xtask::secrets::asymmetric::fresh_values(&secret)
                .into_iter()
                .filter(|(name, _)| xtask::secrets::catalog::find(name).is_some_and(|spec| spec.is_primary()))
                .map(|(name, value)| (name, value.expose().to_string()))
                .collect()
        })
        .clone()
}

/// Every required Tier 1 secret with a sound value (the derived keys are minted).
pub fn tier1() -> Vec<(&'static str, String)> {
    let value = |tag: &str, len: usize| {
        let mut v = format!("Canary{tag}");
        let mut n = 0u32;
        while v.len() < len {
            v.push(char::from(b'a' + (n % 26) as u8));
            n += 7;
        }
        v
    };
    let mut values = vec![
        ("POSTGRES_PASSWORD", value("Pg", 32)),
        ("JWT_SECRET", value("Jwt", 40)),
        ("DASHBOARD_PASSWORD", value("Dash", 32)),
        ("SECRET_KEY_BASE", value("Skb", 64)),
        ("VAULT_ENC_KEY", value("Vault", 32)),
        ("REALTIME_DB_ENC_KEY", value("Rt", 16)),
        ("PG_META_CRYPTO_KEY", value("Meta", 32)),
        ("LOGFLARE_PUBLIC_ACCESS_TOKEN", value("LfPub", 32)),
        ("LOGFLARE_PRIVATE_ACCESS_TOKEN", value("LfPriv", 32)),
        ("S3_PROTOCOL_ACCESS_KEY_ID", value("S3Id", 32)),
        ("S3_PROTOCOL_ACCESS_KEY_SECRET", value("S3Secret", 64)),
    ];
    values.extend(primary_model(&value("Jwt", 40)));
    values
}

/// `tier1()` without `names`.
pub fn tier1_without(names: &[&str]) -> Vec<(&'static str, String)> {
    tier1().into_iter().filter(|(n, _)| !names.contains(n)).collect()
}

/// Borrowed pairs for `Run::envs`.
pub fn pairs<'a>(values: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    values.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// The value of `name` in `values`.
pub fn get<'a>(values: &'a [(&'static str, String)], name: &str) -> &'a str {
    &values.iter().find(|(n, _)| *n == name).unwrap().1
}

/// The values alone, for `Outcome::never_shows`.
pub fn canaries<'a>(values: &'a [(&'static str, String)]) -> Vec<&'a str> {
    values.iter().map(|(_, v)| v.as_str()).collect()
}
