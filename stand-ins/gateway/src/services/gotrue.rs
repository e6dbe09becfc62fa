//! GoTrue (Supabase Auth), as far as a client's key decides the answer.
//!
//! - `GET /health`, `/settings`, `/.well-known/jwks.json`: no token needed (the key set
//!   holds no symmetric key: GoTrue never publishes `oct` keys)
//! - `/admin/…`: a Bearer JWT that verifies under `GOTRUE_JWT_SECRET` and whose `role` is
//!   one of `GOTRUE_JWT_ADMIN_ROLES` (default `service_role,supabase_admin`); 401
//!   `no_authorization` without a token, 403 `bad_jwt` when it does not verify, 403
//!   `not_admin` for another role
//! - `GET /user`: a verified JWT with a `sub`; this stand-in has no users, so 404
//!   `user_not_found` for a well-formed one
//! - `/verify`, `/callback`, `/authorize`: 400, as GoTrue answers them without parameters

use serde_json::json;

use crate::http::{Request, Response};
use crate::keys::{self, Claims, Env, JwtError, Verifier};
use crate::server::Handler;

pub struct GoTrue {
    verifier: Box<dyn Verifier>,
    admin_roles: Vec<String>,
}

/// `GOTRUE_API_PORT`, default 9999 as the Supabase compose file sets it.
pub fn port(env: Env<'_>) -> u16 {
    env("GOTRUE_API_PORT").and_then(|p| p.parse().ok()).unwrap_or(9999)
}

fn error(status: u16, code: &str, msg: &str) -> Response {
    Response::json(status, &json!({"code": status, "error_code": code, "msg": msg}))
}

impl GoTrue {
    pub fn from_env(env: Env<'_>) -> Result<GoTrue, String> {
        let admin_roles = env("GOTRUE_JWT_ADMIN_ROLES")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "service_role,supabase_admin".into())
            .split(',')
            .map(|r| r.trim().to_owned())
            .collect();
        Ok(GoTrue {
            verifier: keys::gotrue_verifier(env)?,
            admin_roles,
        })
    }

    fn claims(&self, request: &Request) -> Result<Claims, Response> {
        let token = keys::bearer(request)
            .ok_or_else(|| error(401, "no_authorization", "This endpoint requires a valid Bearer token"))?;
        self.verifier.verify(token).map_err(|e| {
            let why = match e {
                JwtError::Malformed => "token is malformed",
                JwtError::Algorithm => "token is unverifiable: signing method is invalid",
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
}

impl Handler for GoTrue {
    fn handle(&self, request: &Request) -> Response {
        let path = request.path.trim_end_matches('/');
        match path {
            "/health" => {
                return Response::json(
                    200,
                    &json!({"version": "stand-in", "name": "GoTrue", "description": "GoTrue is a user registration and authentication API"}),
                );
            }
            "/settings" => return Response::json(200, &json!({"external": {"email": true}, "disable_signup": false})),
            "/.well-known/jwks.json" => return Response::json(200, &json!({"keys": []})),
            "/verify" | "/callback" | "/authorize" => {
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
            return match claims.sub() {
                None => error(403, "bad_jwt", "invalid claim: missing sub claim"),
                Some(_) => error(404, "user_not_found", "User from sub claim in JWT does not exist"),
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
    use crate::keys::tests::{SECRET, mint};

    fn gotrue() -> GoTrue {
        GoTrue::from_env(&|name| (name == "GOTRUE_JWT_SECRET").then(|| SECRET.to_owned())).unwrap()
    }

    fn get(path: &str, token: Option<&str>) -> Response {
        let mut request = Request::new("GET", path);
        if let Some(token) = token {
            request = request.with_header("Authorization", &format!("Bearer {token}"));
        }
        gotrue().handle(&request)
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
}
