//! The one description of every secret in the stack's `.env`.
//!
//! Generation, validation, `verify`'s findings and the docs table all read
//! this list; nothing else in the project names the secrets again.

/// The three tiers of the key-management document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// Infrastructure core: generated in dev, injected in staging and prod.
    One,
    /// Third-party credentials: supplied by the operator, never generated.
    Two,
}

impl Tier {
    pub fn number(self) -> u8 {
        match self {
            Tier::One => 1,
            Tier::Two => 2,
        }
    }
}

/// Which characters a value may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// `[0-9a-f]`.
    Hex,
    /// `[A-Za-z0-9]`.
    Alphanumeric,
    /// Standard or URL-safe base64 (`[A-Za-z0-9+/=_-]`), as upstream's
    /// `openssl rand -base64` makes them; the services read the characters as
    /// they are, never decoded.
    Base64,
    /// A compact JWT: three base64url segments.
    Jwt,
    /// Anything printable on one line: third-party tokens have their own formats.
    Printable,
}

impl Charset {
    pub fn allows(self, c: char) -> bool {
        match self {
            Charset::Hex => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
            Charset::Alphanumeric => c.is_ascii_alphanumeric(),
            Charset::Base64 => c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_'),
            Charset::Jwt => c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'),
            Charset::Printable => !c.is_control(),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Charset::Hex => "lowercase hex digits",
            Charset::Alphanumeric => "letters and digits",
            Charset::Base64 => "base64 characters (letters, digits, `+/=-_`)",
            Charset::Jwt => "a compact JWT",
            Charset::Printable => "printable characters on one line",
        }
    }
}

/// The role claim of a minted API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Anon,
    ServiceRole,
}

impl Role {
    pub fn claim(self) -> &'static str {
        match self {
            Role::Anon => "anon",
            Role::ServiceRole => "service_role",
        }
    }
}

/// How a value comes into being when the tool has to make one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Make {
    /// Random characters from the OS random source.
    Random { charset: Charset, len: usize },
    /// An HS256 JWT signed with `JWT_SECRET`.
    Minted(Role),
    /// An opaque `sb_` API key: random, with its checksum.
    Opaque(Opaque),
    /// `JWT_KEYS`: a new EC P-256 signing key plus the `oct` key of `JWT_SECRET`.
    SigningKeys,
    /// `JWT_JWKS`: the public part of `JWT_KEYS`.
    PublicKeys,
    /// An ES256 JWT signed with the signing key of `JWT_KEYS`.
    MintedAsymmetric(Role),
    /// Never made by the tool: the operator supplies it, or it stays empty.
    Supplied,
    /// The value the named key had before `rotate NAME --overlap`: accepted
    /// next to the new one until `--stage revoke` empties it; empty otherwise.
    Previous(&'static str),
}

/// The rule a value must follow. Empty values are "missing", not a rule break.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub min_len: usize,
    pub exact_len: Option<usize>,
    pub charset: Charset,
    pub needs_letter: bool,
    pub differs_from: Option<&'static str>,
}

impl Rule {
    const fn min(min_len: usize, charset: Charset) -> Rule {
        Rule {
            min_len,
            exact_len: None,
            charset,
            needs_letter: false,
            differs_from: None,
        }
    }

    const fn exact(len: usize, charset: Charset) -> Rule {
        Rule {
            min_len: len,
            exact_len: Some(len),
            charset,
            needs_letter: false,
            differs_from: None,
        }
    }

    const fn with_letter(self) -> Rule {
        Rule {
            needs_letter: true,
            ..self
        }
    }

    const fn differs_from(self, other: &'static str) -> Rule {
        Rule {
            differs_from: Some(other),
            ..self
        }
    }

    /// One phrase for docs and messages, e.g. "exactly 32 lowercase hex digits".
    pub fn describe(&self) -> String {
        let mut text = match self.exact_len {
            Some(n) => format!("exactly {n} {}", self.charset.describe()),
            None if self.min_len > 0 && self.charset == Charset::Printable => {
                format!("at least {} bytes of {}", self.min_len, self.charset.describe())
            }
            None if self.min_len > 0 => format!("at least {} {}", self.min_len, self.charset.describe()),
            None => self.charset.describe().to_string(),
        };
        if self.needs_letter {
            text.push_str(", with at least one letter");
        }
        if let Some(other) = self.differs_from {
            text.push_str(&format!(", different from {other}"));
        }
        text
    }
}

/// One secret of the stack.
#[derive(Clone, Copy, Debug)]
pub struct SecretSpec {
    pub name: &'static str,
    pub tier: Tier,
    pub rule: Rule,
    pub make: Make,
    /// Left empty unless the operator opts in (the newer key model).
    pub optional: bool,
    /// Changing it makes data already encrypted with it unreadable.
    pub encrypts_data: bool,
    /// Only part of a stack whose template declares it (MinIO with the s3
    /// overlay): made and required only when the `.env`
    /// has the variable.
    pub when_declared: bool,
    pub about: &'static str,
}

impl SecretSpec {
    /// Made from other secrets: checked against them, and made again when they change.
    pub fn is_derived(&self) -> bool {
        matches!(
            self.make,
            Make::Minted(_) | Make::PublicKeys | Make::MintedAsymmetric(_)
        )
    }

    /// Made from nothing but randomness: generated in dev, injected in staging and prod.
    pub fn is_primary(&self) -> bool {
        matches!(self.make, Make::Random { .. } | Make::Opaque(_) | Make::SigningKeys)
    }

    /// The key this one overlaps (`Make::Previous`), if it is a previous key.
    pub fn previous_of(&self) -> Option<&'static SecretSpec> {
        match self.make {
            Make::Previous(of) => find(of),
            _ => None,
        }
    }

    /// Part of the asymmetric key model: the signing keys, their public set,
    /// the ES256 API keys and the opaque keys that stand for them.
    pub fn is_asymmetric(&self) -> bool {
        matches!(
            self.make,
            Make::Opaque(_) | Make::SigningKeys | Make::PublicKeys | Make::MintedAsymmetric(_)
        )
    }
}

const fn generated(name: &'static str, rule: Rule, charset: Charset, len: usize, about: &'static str) -> SecretSpec {
    SecretSpec {
        name,
        tier: Tier::One,
        rule,
        make: Make::Random { charset, len },
        optional: false,
        encrypts_data: false,
        when_declared: false,
        about,
    }
}

const fn minted(name: &'static str, role: Role, about: &'static str) -> SecretSpec {
    SecretSpec {
        name,
        tier: Tier::One,
        rule: Rule::min(0, Charset::Jwt),
        make: Make::Minted(role),
        optional: false,
        encrypts_data: false,
        when_declared: false,
        about,
    }
}

const fn asymmetric(name: &'static str, make: Make, about: &'static str) -> SecretSpec {
    SecretSpec {
        name,
        tier: Tier::One,
        rule: Rule::min(0, Charset::Printable),
        make,
        optional: false,
        encrypts_data: false,
        when_declared: false,
        about,
    }
}

const fn previous(name: &'static str, of: &'static str, about: &'static str) -> SecretSpec {
    SecretSpec {
        name,
        tier: Tier::One,
        rule: Rule::min(0, Charset::Printable).differs_from(of),
        make: Make::Previous(of),
        optional: true,
        encrypts_data: false,
        when_declared: false,
        about,
    }
}

const fn third_party(name: &'static str, about: &'static str) -> SecretSpec {
    SecretSpec {
        name,
        tier: Tier::Two,
        rule: Rule::min(0, Charset::Printable),
        make: Make::Supplied,
        optional: true,
        encrypts_data: false,
        when_declared: false,
        about,
    }
}

const fn if_declared(spec: SecretSpec) -> SecretSpec {
    SecretSpec {
        when_declared: true,
        ..spec
    }
}

const fn encrypting(spec: SecretSpec) -> SecretSpec {
    SecretSpec {
        encrypts_data: true,
        ..spec
    }
}

use Charset::{Alphanumeric, Base64, Hex, Printable};

pub use super::opaque::Opaque;

/// Every secret of the stack, in the order `.env.example` lists them.
/// Each secret's name, for code that must name one (`name::JWT_SECRET`): the
/// catalog below is built from these, so no other string spells a secret.
pub mod name {
    macro_rules! names {
        ($($name:ident),* $(,)?) => {
            $(pub const $name: &str = stringify!($name);)*
            /// Every name above, in the catalog's order.
            pub const ALL: &[&str] = &[$($name),*];
        };
    }

    names!(
        POSTGRES_PASSWORD,
        JWT_SECRET,
        ANON_KEY,
        SERVICE_ROLE_KEY,
        DASHBOARD_PASSWORD,
        SECRET_KEY_BASE,
        VAULT_ENC_KEY,
        REALTIME_DB_ENC_KEY,
        PG_META_CRYPTO_KEY,
        LOGFLARE_PUBLIC_ACCESS_TOKEN,
        LOGFLARE_PRIVATE_ACCESS_TOKEN,
        S3_PROTOCOL_ACCESS_KEY_ID,
        S3_PROTOCOL_ACCESS_KEY_SECRET,
        MINIO_ROOT_PASSWORD,
        SUPABASE_PUBLISHABLE_KEY,
        SUPABASE_SECRET_KEY,
        JWT_KEYS,
        JWT_JWKS,
        ANON_KEY_ASYMMETRIC,
        SERVICE_ROLE_KEY_ASYMMETRIC,
        ANON_KEY_PREVIOUS,
        SERVICE_ROLE_KEY_PREVIOUS,
        SUPABASE_PUBLISHABLE_KEY_PREVIOUS,
        SUPABASE_SECRET_KEY_PREVIOUS,
        OPENAI_API_KEY,
        SMTP_PASS,
        CLOUDFLARED_TOKEN,
        SMS_TWILIO_AUTH_TOKEN,
    );
}

pub const CATALOG: &[SecretSpec] = &[
    generated(
        name::POSTGRES_PASSWORD,
        Rule::min(16, Alphanumeric),
        Hex,
        32,
        "password of postgres, supabase_admin and the service roles; applied only when the database is first created",
    ),
    generated(
        name::JWT_SECRET,
        Rule::min(32, Base64),
        Alphanumeric,
        40,
        "HMAC key that signs every API key and user session (raw ASCII bytes)",
    ),
    minted(
        name::ANON_KEY,
        Role::Anon,
        "public API key: HS256 JWT with role anon, signed with JWT_SECRET",
    ),
    minted(
        name::SERVICE_ROLE_KEY,
        Role::ServiceRole,
        "privileged API key: HS256 JWT with role service_role, signed with JWT_SECRET",
    ),
    generated(
        name::DASHBOARD_PASSWORD,
        Rule::min(16, Alphanumeric).with_letter(),
        Alphanumeric,
        32,
        "Studio dashboard password (Kong basic auth)",
    ),
    generated(
        name::SECRET_KEY_BASE,
        Rule::min(64, Base64),
        Alphanumeric,
        64,
        "Realtime and Supavisor session signing key",
    ),
    encrypting(generated(
        name::VAULT_ENC_KEY,
        Rule::exact(32, Alphanumeric),
        Hex,
        32,
        "Supavisor encryption key for stored tenant credentials",
    )),
    encrypting(generated(
        name::REALTIME_DB_ENC_KEY,
        Rule::exact(16, Alphanumeric),
        Hex,
        16,
        "Realtime AES-128 key for stored tenant credentials",
    )),
    generated(
        name::PG_META_CRYPTO_KEY,
        Rule::min(32, Base64),
        Alphanumeric,
        32,
        "Studio and postgres-meta connection encryption key",
    ),
    generated(
        name::LOGFLARE_PUBLIC_ACCESS_TOKEN,
        Rule::min(32, Base64).differs_from(name::LOGFLARE_PRIVATE_ACCESS_TOKEN),
        Alphanumeric,
        32,
        "Logflare ingest token (analytics, vector, studio)",
    ),
    generated(
        name::LOGFLARE_PRIVATE_ACCESS_TOKEN,
        Rule::min(32, Base64).differs_from(name::LOGFLARE_PUBLIC_ACCESS_TOKEN),
        Alphanumeric,
        32,
        "Logflare management token (analytics, studio)",
    ),
    generated(
        name::S3_PROTOCOL_ACCESS_KEY_ID,
        Rule::min(16, Alphanumeric),
        Hex,
        32,
        "Storage S3-protocol access key id",
    ),
    generated(
        name::S3_PROTOCOL_ACCESS_KEY_SECRET,
        Rule::min(32, Alphanumeric),
        Hex,
        64,
        "Storage S3-protocol access key secret",
    ),
    if_declared(generated(
        name::MINIO_ROOT_PASSWORD,
        Rule::min(8, Printable),
        Hex,
        32,
        "MinIO root password; Storage's AWS_SECRET_ACCESS_KEY with the s3 overlay",
    )),
    asymmetric(
        name::SUPABASE_PUBLISHABLE_KEY,
        Make::Opaque(Opaque::Publishable),
        "public opaque API key for browsers and apps; Kong swaps it for ANON_KEY_ASYMMETRIC",
    ),
    asymmetric(
        name::SUPABASE_SECRET_KEY,
        Make::Opaque(Opaque::Secret),
        "privileged opaque API key for servers; Kong swaps it for SERVICE_ROLE_KEY_ASYMMETRIC",
    ),
    asymmetric(
        name::JWT_KEYS,
        Make::SigningKeys,
        "GoTrue's key set (JSON array): the private ES256 signing key and the HS256 oct key of JWT_SECRET",
    ),
    asymmetric(
        name::JWT_JWKS,
        Make::PublicKeys,
        "verifiers' key set {\"keys\":[...]}: the public ES256 key and the HS256 oct key of JWT_SECRET, so secret too",
    ),
    asymmetric(
        name::ANON_KEY_ASYMMETRIC,
        Make::MintedAsymmetric(Role::Anon),
        "ES256 JWT with role anon that Kong sends for SUPABASE_PUBLISHABLE_KEY; gateway-internal",
    ),
    asymmetric(
        name::SERVICE_ROLE_KEY_ASYMMETRIC,
        Make::MintedAsymmetric(Role::ServiceRole),
        "ES256 JWT with role service_role that Kong sends for SUPABASE_SECRET_KEY; gateway-internal",
    ),
    previous(
        name::ANON_KEY_PREVIOUS,
        name::ANON_KEY,
        "the ANON_KEY before `rotate ANON_KEY --overlap`: Kong accepts it too until the overlap is revoked",
    ),
    previous(
        name::SERVICE_ROLE_KEY_PREVIOUS,
        name::SERVICE_ROLE_KEY,
        "the SERVICE_ROLE_KEY before `rotate SERVICE_ROLE_KEY --overlap`: Kong accepts it too until the overlap is revoked",
    ),
    previous(
        name::SUPABASE_PUBLISHABLE_KEY_PREVIOUS,
        name::SUPABASE_PUBLISHABLE_KEY,
        "the publishable key before `rotate SUPABASE_PUBLISHABLE_KEY --overlap`: Kong swaps it for ANON_KEY_ASYMMETRIC too until the overlap is revoked",
    ),
    previous(
        name::SUPABASE_SECRET_KEY_PREVIOUS,
        name::SUPABASE_SECRET_KEY,
        "the secret key before `rotate SUPABASE_SECRET_KEY --overlap`: Kong swaps it for SERVICE_ROLE_KEY_ASYMMETRIC too until the overlap is revoked",
    ),
    third_party(name::OPENAI_API_KEY, "Studio's SQL assistant"),
    third_party(name::SMTP_PASS, "password of the SMTP relay that sends auth mail"),
    third_party(name::CLOUDFLARED_TOKEN, "Cloudflare tunnel token"),
    third_party(name::SMS_TWILIO_AUTH_TOKEN, "Twilio token for phone sign-in"),
];

/// The catalog entry for `name`, if it is a secret.
pub fn find(name: &str) -> Option<&'static SecretSpec> {
    CATALOG.iter().find(|spec| spec.name == name)
}

/// The catalog as the Markdown table `docs/key-management.md` shows.
pub fn markdown_table() -> String {
    let mut out = String::from("| variable | tier | rule | made by | about |\n|---|---|---|---|---|\n");
    for spec in CATALOG {
        let made = match spec.make {
            Make::Random {
                charset: Charset::Hex,
                len,
            } => format!("generated in dev: {len} hex characters"),
            Make::Random { len, .. } => format!("generated in dev: {len} letters and digits"),
            Make::Minted(role) => format!("minted: HS256 JWT, role `{}`", role.claim()),
            Make::Opaque(kind) => format!("generated in dev: `{}` + 22 random + checksum", kind.prefix()),
            Make::SigningKeys => "generated in dev: EC P-256 key, UUID `kid`".to_string(),
            Make::PublicKeys => "derived from `JWT_KEYS`".to_string(),
            Make::MintedAsymmetric(role) => format!("minted: ES256 JWT, role `{}`", role.claim()),
            Make::Supplied if spec.tier == Tier::Two => "you (never generated)".to_string(),
            Make::Supplied => "you, when opting in (empty is fine)".to_string(),
            Make::Previous(of) => format!("`rotate {of} --overlap` (empty outside an overlap)"),
        };
        let rule = match spec.make {
            Make::Minted(_) => "verifies under `JWT_SECRET` with its role".to_string(),
            Make::Opaque(kind) => format!("exactly {} characters, its checksum matches", kind.key_len()),
            Make::SigningKeys => {
                "JSON array; exactly one key with `sign`, unique `kid`s, `alg` on each, the oct key is `JWT_SECRET`"
                    .to_string()
            }
            Make::PublicKeys => "`{\"keys\":[...]}`; the public part of `JWT_KEYS`, no private `d`".to_string(),
            Make::MintedAsymmetric(_) => "verifies under `JWT_JWKS` by its `kid`, with its role".to_string(),
            Make::Supplied => "none".to_string(),
            Make::Previous(of) => format!("as `{of}`'s, different from `{of}`"),
            Make::Random { .. } => spec.rule.describe(),
        };
        let about = if spec.encrypts_data {
            format!("{}; **encrypts stored data**", spec.about)
        } else {
            spec.about.to_string()
        };
        out.push_str(&format!(
            "| `{}` | {} | {rule} | {made} | {about} |\n",
            spec.name,
            spec.tier.number()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_constant_is_one_catalog_entry_in_its_order() {
        let catalog: Vec<&str> = CATALOG.iter().map(|s| s.name).collect();
        assert_eq!(name::ALL, catalog.as_slice());
    }

    #[test]
    fn every_generator_satisfies_its_own_rule() {
        for spec in CATALOG {
            if let Make::Random { charset, len } = spec.make {
                assert!(len >= spec.rule.min_len, "{}", spec.name);
                if let Some(exact) = spec.rule.exact_len {
                    assert_eq!(len, exact, "{}", spec.name);
                }
                assert!(
                    charset == spec.rule.charset
                        || (charset == Hex && spec.rule.charset == Alphanumeric)
                        || (charset == Alphanumeric && spec.rule.charset == Base64)
                        || (charset != Printable && spec.rule.charset == Printable),
                    "{}",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn names_are_unique_and_differs_from_points_to_a_real_entry() {
        for (i, spec) in CATALOG.iter().enumerate() {
            assert!(
                CATALOG[i + 1..].iter().all(|other| other.name != spec.name),
                "{}",
                spec.name
            );
            if let Some(other) = spec.rule.differs_from {
                assert!(find(other).is_some(), "{} names {other}", spec.name);
            }
        }
    }

    #[test]
    fn rules_read_as_sentences() {
        assert_eq!(
            find("VAULT_ENC_KEY").unwrap().rule.describe(),
            "exactly 32 letters and digits"
        );
        assert_eq!(
            find("DASHBOARD_PASSWORD").unwrap().rule.describe(),
            "at least 16 letters and digits, with at least one letter"
        );
    }
}
