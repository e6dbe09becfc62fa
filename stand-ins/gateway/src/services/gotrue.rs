//! GoTrue (Supabase Auth): its key rules (`keys::gotrue`), its sessions, and its answers
//! as far as a client's key decides them.
//!
//! - `GET /health`, `/settings`; `/.well-known/jwks.json`: the public part of every
//!   non-`oct` key of `GOTRUE_JWT_KEYS`, `Cache-Control: public, max-age=600`
//! - `POST /signup` `{email, password}`: a new user (422 `user_already_exists`, 422
//!   `weak_password` under 6 characters, 422 `signup_disabled` with
//!   `GOTRUE_DISABLE_SIGNUP=true`); with `GOTRUE_MAILER_AUTOCONFIRM=true` the answer is a
//!   session, else the unconfirmed user
//! - `POST /token?grant_type=password` `{email, password}`: a session (400
//!   `invalid_credentials`, 400 `email_not_confirmed`)
//! - `POST /token?grant_type=refresh_token` `{refresh_token}`: a session of the same
//!   `session_id`; the used token is revoked (400 `refresh_token_already_used` when it
//!   comes again, 400 `refresh_token_not_found` for one never issued)
//! - `GET /user`: the user of a verified access token (404 `user_not_found`)
//! - `/admin/…`: a verified token whose `role` is one of `GOTRUE_JWT_ADMIN_ROLES` (default
//!   `service_role,supabase_admin`); 401 `no_authorization` without a token, 403
//!   `bad_jwt` when it does not verify, 403 `not_admin` for another role
//! - `/verify`, `/callback`, `/authorize`: 400, as GoTrue answers them without parameters
//!
//! A session is `{access_token, token_type: "bearer", expires_in, expires_at,
//! refresh_token, user}`; the access token is signed by the signing key (its `kid` in the
//! header) with GoTrue's claims: `sub`, `aud` (`GOTRUE_JWT_AUD`, default
//! `authenticated`), `role` (`GOTRUE_JWT_DEFAULT_GROUP_NAME`, default `authenticated`),
//! `iss` (`GOTRUE_JWT_ISSUER`, when set), `email`, `session_id`, `iat`, `exp` (`iat` +
//! `GOTRUE_JWT_EXP`, default 3600). Users and refresh tokens are kept by [`super::users`].

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::users::{self, Refreshed, User, Users};
use crate::http::{Request, Response};
use crate::keys::gotrue::GoTrueKeys;
use crate::keys::{self, Claims, Env, JwtError, Verifier};
use crate::server::Handler;

pub struct GoTrue {
    keys: GoTrueKeys,
    admin_roles: Vec<String>,
    users: Users,
    expiry: u64,
    audience: String,
    role: String,
    issuer: Option<String>,
    autoconfirm: bool,
    signup_disabled: bool,
}

/// `GOTRUE_API_PORT`, default 9999 as the Supabase compose file sets it.
pub fn port(env: Env<'_>) -> u16 {
    env("GOTRUE_API_PORT").and_then(|p| p.parse().ok()).unwrap_or(9999)
}

fn error(status: u16, code: &str, msg: &str) -> Response {
    Response::json(status, &json!({"code": status, "error_code": code, "msg": msg}))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `2026-01-02T03:04:05Z` for a Unix time.
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn flag(env: Env<'_>, name: &str) -> bool {
    env(name).is_some_and(|v| v == "true")
}

impl GoTrue {
    pub fn from_env(env: Env<'_>) -> Result<GoTrue, String> {
        let admin_roles = env("GOTRUE_JWT_ADMIN_ROLES")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "service_role,supabase_admin".into())
            .split(',')
            .map(|r| r.trim().to_owned())
            .collect();
        let expiry = match env("GOTRUE_JWT_EXP").filter(|v| !v.is_empty()) {
            None => 3600,
            Some(v) => v
                .parse()
                .map_err(|_| "GOTRUE_JWT_EXP is not a number of seconds".to_owned())?,
        };
        let text = |name: &str, default: &str| env(name).filter(|v| !v.is_empty()).unwrap_or_else(|| default.into());
        Ok(GoTrue {
            keys: GoTrueKeys::from_env(env)?,
            admin_roles,
            users: Users::open(PathBuf::from(text("STAND_IN_AUTH_STATE", users::DEFAULT_STATE)))?,
            expiry,
            audience: text("GOTRUE_JWT_AUD", "authenticated"),
            role: text("GOTRUE_JWT_DEFAULT_GROUP_NAME", "authenticated"),
            issuer: env("GOTRUE_JWT_ISSUER").filter(|v| !v.is_empty()),
            autoconfirm: flag(env, "GOTRUE_MAILER_AUTOCONFIRM"),
            signup_disabled: flag(env, "GOTRUE_DISABLE_SIGNUP"),
        })
    }

    fn claims(&self, request: &Request) -> Result<Claims, Response> {
        let token = keys::bearer(request)
            .ok_or_else(|| error(401, "no_authorization", "This endpoint requires a valid Bearer token"))?;
        self.keys.verify(token).map_err(|e| {
            let why = match e {
                JwtError::Malformed => "token is malformed",
                JwtError::Algorithm => "token is unverifiable: signing method is invalid",
                JwtError::UnknownKid => "token is unverifiable: error while executing keyfunc: invalid kid",
                JwtError::Signature => "token signature is invalid: signature is invalid",
                JwtError::Expired => "token has invalid claims: token is expired",
            };
            error(
                403,
                "bad_jwt",
                &format!("invalid JWT: unable to parse or verify signature, {why}"),
            )
        })
    }

    fn user_json(&self, user: &User) -> Value {
        let created = rfc3339(user.created_at);
        json!({
            "id": user.id, "aud": self.audience, "role": self.role, "email": user.email,
            "email_confirmed_at": user.confirmed.then(|| created.clone()),
            "phone": "", "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {}, "identities": [], "created_at": created, "updated_at": created,
            "is_anonymous": false
        })
    }

    fn session(&self, user: &User, session_id: &str, refresh_token: &str) -> Response {
        let iat = now();
        let exp = iat + self.expiry;
        let mut claims = json!({
            "sub": user.id, "aud": self.audience, "role": self.role, "email": user.email, "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {},
            "aal": "aal1", "amr": [{"method": "password", "timestamp": iat}],
            "session_id": session_id, "is_anonymous": false, "iat": iat, "exp": exp
        });
        if let Some(issuer) = &self.issuer {
            claims["iss"] = json!(issuer);
        }
        match self.keys.sign(&claims) {
            Ok(access_token) => Response::json(
                200,
                &json!({
                    "access_token": access_token, "token_type": "bearer", "expires_in": self.expiry,
                    "expires_at": exp, "refresh_token": refresh_token, "user": self.user_json(user)
                }),
            ),
            Err(message) => error(500, "unexpected_failure", &message),
        }
    }

    fn new_session(&self, user: &User) -> Response {
        match self.users.start_session(user) {
            Ok((session_id, token)) => self.session(user, &session_id, &token),
            Err(message) => saving_failed(&message),
        }
    }

    fn signup(&self, body: &Value) -> Response {
        if self.signup_disabled {
            return error(422, "signup_disabled", "Signups not allowed for this instance");
        }
        let (Some(email), password) = (body["email"].as_str(), body["password"].as_str().unwrap_or_default()) else {
            return error(400, "validation_failed", "To signup, please provide your email");
        };
        if !email.contains('@') {
            return error(
                400,
                "validation_failed",
                "Unable to validate email address: invalid format",
            );
        }
        if password.chars().count() < 6 {
            return error(422, "weak_password", "Password should be at least 6 characters.");
        }
        match self.users.sign_up(email, password, self.autoconfirm, now()) {
            Ok(None) => error(422, "user_already_exists", "User already registered"),
            Ok(Some(user)) if self.autoconfirm => self.new_session(&user),
            Ok(Some(user)) => Response::json(200, &self.user_json(&user)),
            Err(message) => saving_failed(&message),
        }
    }

    fn token(&self, request: &Request, body: &Value) -> Response {
        match request.query_param("grant_type") {
            Some("password") => {
                let email = body["email"].as_str().unwrap_or_default();
                let password = body["password"].as_str().unwrap_or_default();
                match self.users.sign_in(email, password) {
                    None => error(400, "invalid_credentials", "Invalid login credentials"),
                    Some(user) if !user.confirmed => error(400, "email_not_confirmed", "Email not confirmed"),
                    Some(user) => self.new_session(&user),
                }
            }
            Some("refresh_token") => {
                let Some(token) = body["refresh_token"].as_str().filter(|t| !t.is_empty()) else {
                    return error(400, "validation_failed", "refresh_token required");
                };
                match self.users.refresh(token) {
                    Ok(Refreshed::Rotated {
                        token,
                        user,
                        session_id,
                    }) => self.session(&user, &session_id, &token),
                    Ok(Refreshed::AlreadyUsed) => {
                        error(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")
                    }
                    Ok(Refreshed::NotFound) => error(
                        400,
                        "refresh_token_not_found",
                        "Invalid Refresh Token: Refresh Token Not Found",
                    ),
                    Err(message) => saving_failed(&message),
                }
            }
            _ => error(400, "unsupported_grant_type", "unsupported_grant_type"),
        }
    }
}

/// The state could not be written: logged (a path, never a value) and a 500.
fn saving_failed(message: &str) -> Response {
    eprintln!("stand-in auth: {message}");
    error(500, "unexpected_failure", "Database error saving the change")
}

impl Handler for GoTrue {
    fn handle(&self, request: &Request) -> Response {
        let path = request.path.trim_end_matches('/');
        let body = || serde_json::from_slice::<Value>(&request.body).unwrap_or(Value::Null);
        match (request.method.as_str(), path) {
            (_, "/health") => {
                return Response::json(
                    200,
                    &json!({"version": "stand-in", "name": "GoTrue", "description": "GoTrue is a user registration and authentication API"}),
                );
            }
            (_, "/settings") => {
                return Response::json(
                    200,
                    &json!({"external": {"email": true}, "disable_signup": self.signup_disabled, "mailer_autoconfirm": self.autoconfirm}),
                );
            }
            (_, "/.well-known/jwks.json") => {
                return Response::json(200, &self.keys.jwks()).with_header("Cache-Control", "public, max-age=600");
            }
            ("POST", "/signup") => return self.signup(&body()),
            ("POST", "/token") => return self.token(request, &body()),
            (_, "/verify" | "/callback" | "/authorize") => {
                return error(400, "validation_failed", "missing or invalid parameters");
            }
            _ => {}
        }
        if path == "/admin" || path.starts_with("/admin/") {
            let claims = match self.claims(request) {
                Ok(claims) => claims,
                Err(refused) => return refused,
            };
            let role = claims.role().unwrap_or_default();
            if !self.admin_roles.iter().any(|r| r == role) {
                return error(403, "not_admin", "User not allowed");
            }
            return match (request.method.as_str(), path) {
                ("GET", "/admin/users") => Response::json(200, &json!({"users": [], "aud": "authenticated"})),
                _ => error(404, "user_not_found", "User not found"),
            };
        }
        if path == "/user" {
            let claims = match self.claims(request) {
                Ok(claims) => claims,
                Err(refused) => return refused,
            };
            return match claims.sub().and_then(|sub| self.users.user(sub)) {
                Some(user) => Response::json(200, &self.user_json(&user)),
                None if claims.sub().is_none() => error(403, "bad_jwt", "invalid claim: missing sub claim"),
                None => error(404, "user_not_found", "User from sub claim in JWT does not exist"),
            };
        }
        Response::text(404, "404 page not found\n")
    }

    fn health_path(&self) -> &str {
        "/health"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::jwk::Key;
    use crate::keys::tests::{SECRET, ec_pair, mint, oct};

    fn state_path() -> String {
        let dir = std::env::temp_dir().join(format!("stand-in-gotrue-{}", users::uuid_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("state.json").to_string_lossy().into_owned()
    }

    fn gotrue_with(keys: Option<String>, state: &str) -> GoTrue {
        let state = state.to_owned();
        GoTrue::from_env(&move |name| match name {
            "GOTRUE_JWT_SECRET" => Some(SECRET.to_owned()),
            "GOTRUE_JWT_KEYS" => keys.clone(),
            "GOTRUE_JWT_EXP" => Some("600".to_owned()),
            "GOTRUE_JWT_ISSUER" => Some("http://kong:8000/auth/v1".to_owned()),
            "GOTRUE_MAILER_AUTOCONFIRM" => Some("true".to_owned()),
            "STAND_IN_AUTH_STATE" => Some(state.clone()),
            _ => None,
        })
        .unwrap()
    }

    fn gotrue() -> GoTrue {
        gotrue_with(None, &state_path())
    }

    fn get(path: &str, token: Option<&str>) -> Response {
        let mut request = Request::new("GET", path);
        if let Some(token) = token {
            request = request.with_header("Authorization", &format!("Bearer {token}"));
        }
        gotrue().handle(&request)
    }

    fn post(gotrue: &GoTrue, target: &str, body: Value) -> Response {
        let mut request = Request::new("POST", target);
        request.body = body.to_string().into_bytes();
        gotrue.handle(&request)
    }

    #[test]
    fn admin_needs_an_admin_role_under_the_secret() {
        let service = mint(SECRET, json!({"role": "service_role"}));
        let anon = mint(SECRET, json!({"role": "anon"}));
        let forged = mint(
            "another0secret0with0at0least0thirty0two0c",
            json!({"role": "service_role"}),
        );
        assert_eq!(get("/admin/users", Some(&service)).status, 200);
        let not_admin = get("/admin/users", Some(&anon));
        assert_eq!(
            (not_admin.status, not_admin.body_json()["error_code"].as_str()),
            (403, Some("not_admin"))
        );
        let bad = get("/admin/users", Some(&forged));
        assert_eq!(
            (bad.status, bad.body_json()["error_code"].as_str()),
            (403, Some("bad_jwt"))
        );
        assert_eq!(get("/admin/users", None).status, 401);
        assert_eq!(get("/health", None).status, 200);
        assert_eq!(get("/user", Some(&anon)).status, 403);
    }

    #[test]
    fn sessions_are_es256_with_gotrue_claims_and_refresh_tokens_rotate() {
        let (signer, public) = ec_pair(3, "kid-a");
        let keys = json!([signer, oct(SECRET)]).to_string();
        let state = state_path();
        let auth = gotrue_with(Some(keys.clone()), &state);
        let creds = json!({"email": "u@example.com", "password": "hunter22"});
        let signed_up = post(&auth, "/signup", creds.clone());
        assert_eq!(signed_up.status, 200, "{:?}", signed_up.body_json());
        assert_eq!(
            post(&auth, "/signup", creds.clone()).body_json()["error_code"],
            "user_already_exists"
        );
        let session = post(&auth, "/token?grant_type=password", creds.clone()).body_json();
        for field in ["access_token", "refresh_token", "expires_at", "user"] {
            assert!(!session[field].is_null(), "{field}");
        }
        assert_eq!(
            (session["token_type"].as_str(), session["expires_in"].as_u64()),
            (Some("bearer"), Some(600))
        );
        let access = session["access_token"].as_str().unwrap();
        let header = jsonwebtoken::decode_header(access).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref()),
            (jsonwebtoken::Algorithm::ES256, Some("kid-a"))
        );
        let claims = Key::from_jwk(&public).unwrap().verify(access).unwrap().0;
        assert_eq!(claims["role"], "authenticated");
        assert_eq!(claims["aud"], "authenticated");
        assert_eq!(claims["iss"], "http://kong:8000/auth/v1");
        assert_eq!(claims["sub"], session["user"]["id"]);
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 600);
        let wrong = post(
            &auth,
            "/token?grant_type=password",
            json!({"email": "u@example.com", "password": "x"}),
        );
        assert_eq!(
            (wrong.status, wrong.body_json()["error_code"].as_str()),
            (400, Some("invalid_credentials"))
        );

        // A new auth process over the same state: the user and the token are still there.
        let again = gotrue_with(Some(keys), &state);
        let user =
            again.handle(&Request::new("GET", "/user").with_header("Authorization", &format!("Bearer {access}")));
        assert_eq!(
            (user.status, &user.body_json()["email"]),
            (200, &json!("u@example.com"))
        );
        let first = session["refresh_token"].as_str().unwrap();
        let refreshed = post(
            &again,
            "/token?grant_type=refresh_token",
            json!({"refresh_token": first}),
        )
        .body_json();
        assert_ne!(refreshed["refresh_token"], session["refresh_token"]);
        let claims_after = Key::from_jwk(&public)
            .unwrap()
            .verify(refreshed["access_token"].as_str().unwrap())
            .unwrap()
            .0;
        assert_eq!(claims_after["session_id"], claims["session_id"]);
        let reused = post(
            &again,
            "/token?grant_type=refresh_token",
            json!({"refresh_token": first}),
        );
        assert_eq!(
            (reused.status, reused.body_json()["error_code"].as_str()),
            (400, Some("refresh_token_already_used"))
        );

        let jwks = again.handle(&Request::new("GET", "/.well-known/jwks.json"));
        assert_eq!(jwks.header("Cache-Control"), Some("public, max-age=600"));
        assert_eq!(jwks.body_json()["keys"][0]["kid"], "kid-a");
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_323_045), "2026-01-02T03:04:05Z");
    }
}
