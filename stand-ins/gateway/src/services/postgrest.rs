//! PostgREST, as far as a client's JWT decides the answer. It holds no tables.
//!
//! - `Authorization: Bearer <jwt>` must verify under `PGRST_JWT_SECRET` (a secret, a JWK
//!   or a JWKS, keys picked as `keys::postgrest` says): 401 `PGRST301` (`JWSError
//!   JWSInvalidSignature`, a malformed token, or a `kid` no key has), 401 `PGRST303`
//!   (`JWT expired`); the token's `role` claim picks the database role
//! - without a token the request runs as `PGRST_DB_ANON_ROLE`; 401 `PGRST302` when unset
//! - `GET /`: the OpenAPI document; 404 `PGRST126` when `PGRST_OPENAPI_MODE=disabled`
//! - `/rpc/<name>`: 404 `PGRST202`; any other `/<name>`: 404 `PGRST205` (no such table in
//!   the schema cache): what a real PostgREST answers once it has taken the JWT

use serde_json::json;

use crate::http::{Request, Response};
use crate::keys::{self, Env, JwtError, Verifier};
use crate::server::Handler;

pub struct PostgRest {
    verifier: Box<dyn Verifier>,
    anon_role: Option<String>,
    schema: String,
    openapi_disabled: bool,
}

/// `PGRST_SERVER_PORT`, default 3000.
pub fn port(env: Env<'_>) -> u16 {
    env("PGRST_SERVER_PORT").and_then(|p| p.parse().ok()).unwrap_or(3000)
}

fn error(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"code": code, "details": null, "hint": null, "message": message}),
    )
}

impl PostgRest {
    pub fn from_env(env: Env<'_>) -> Result<PostgRest, String> {
        Ok(PostgRest {
            verifier: Box::new(keys::postgrest::PostgrestKeys::from_env(env)?),
            anon_role: env("PGRST_DB_ANON_ROLE").filter(|r| !r.is_empty()),
            schema: env("PGRST_DB_SCHEMAS")
                .and_then(|s| s.split(',').next().map(|s| s.trim().to_owned()))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "public".into()),
            openapi_disabled: env("PGRST_OPENAPI_MODE").as_deref() == Some("disabled"),
        })
    }

    /// The database role the request runs as, or PostgREST's refusal.
    fn role(&self, request: &Request) -> Result<String, Response> {
        let Some(token) = keys::bearer(request) else {
            return self
                .anon_role
                .clone()
                .ok_or_else(|| error(401, "PGRST302", "Anonymous access is disabled"));
        };
        match self.verifier.verify(token) {
            Ok(claims) => Ok(claims
                .role()
                .map(str::to_owned)
                .or_else(|| self.anon_role.clone())
                .unwrap_or_default()),
            Err(e) => {
                let (code, message) = match e {
                    JwtError::Expired => ("PGRST303", "JWT expired"),
                    JwtError::Malformed => ("PGRST301", "JWSError (CompactDecodeError Invalid number of parts)"),
                    JwtError::Signature | JwtError::Algorithm => ("PGRST301", "JWSError JWSInvalidSignature"),
                    JwtError::UnknownKid => ("PGRST301", "No suitable key or wrong key type"),
                };
                Err(error(401, code, message).with_header(
                    "WWW-Authenticate",
                    &format!("Bearer error=\"invalid_token\", error_description=\"{message}\""),
                ))
            }
        }
    }
}

impl Handler for PostgRest {
    fn handle(&self, request: &Request) -> Response {
        let role = match self.role(request) {
            Ok(role) => role,
            Err(refused) => return refused,
        };
        let path = request.path.trim_start_matches('/');
        if path.is_empty() {
            if self.openapi_disabled {
                return error(404, "PGRST126", "Open API has been disabled");
            }
            return Response::json(
                200,
                &json!({"swagger": "2.0", "info": {"title": "stand-in"}, "x-role": role}),
            );
        }
        if let Some(function) = path.strip_prefix("rpc/") {
            return error(
                404,
                "PGRST202",
                &format!(
                    "Could not find the function {}.{function} without parameters in the schema cache",
                    self.schema
                ),
            );
        }
        let table = path.split('/').next().unwrap_or(path);
        error(
            404,
            "PGRST205",
            &format!("Could not find the table '{}.{table}' in the schema cache", self.schema),
        )
    }

    fn health_path(&self) -> &str {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{SECRET, mint, now};

    fn rest(anon_role: bool) -> PostgRest {
        PostgRest::from_env(&|name| match name {
            "PGRST_JWT_SECRET" => Some(SECRET.to_owned()),
            "PGRST_DB_ANON_ROLE" if anon_role => Some("anon".to_owned()),
            _ => None,
        })
        .unwrap()
    }

    fn get(rest: &PostgRest, token: Option<&str>) -> Response {
        let mut request = Request::new("GET", "/receptor_live_check");
        if let Some(token) = token {
            request = request.with_header("Authorization", &format!("Bearer {token}"));
        }
        rest.handle(&request)
    }

    #[test]
    fn the_jwt_decides_before_the_table_lookup() {
        let rest = rest(true);
        let anon = mint(SECRET, json!({"role": "anon"}));
        let answer = get(&rest, Some(&anon));
        assert_eq!(
            (answer.status, answer.body_json()["code"].as_str()),
            (404, Some("PGRST205"))
        );
        let forged = mint("another0secret0with0at0least0thirty0two0c", json!({"role": "anon"}));
        let refused = get(&rest, Some(&forged));
        assert_eq!(
            (refused.status, refused.body_json()["code"].as_str()),
            (401, Some("PGRST301"))
        );
        let expired = mint(SECRET, json!({"role": "anon", "exp": now() - 5}));
        assert_eq!(get(&rest, Some(&expired)).body_json()["code"], "PGRST303");
        assert_eq!(get(&rest, None).status, 404);
        assert_eq!(get(&self::rest(false), None).body_json()["code"], "PGRST302");
    }

    #[test]
    fn a_jwks_secret_takes_es256_tokens_by_kid_and_refuses_an_unknown_kid_with_pgrst301() {
        use crate::keys::tests::{ec_pair, mint_es256, oct};
        let (signer, public) = ec_pair(3, "kid-1");
        let jwks = json!({"keys": [public, oct(SECRET)]}).to_string();
        let rest = PostgRest::from_env(&|name| match name {
            "PGRST_JWT_SECRET" => Some(jwks.clone()),
            "PGRST_DB_ANON_ROLE" => Some("anon".to_owned()),
            _ => None,
        })
        .unwrap();
        let root = |token: &str| {
            rest.handle(&Request::new("GET", "/").with_header("Authorization", &format!("Bearer {token}")))
        };
        let user = root(&mint_es256(&signer, json!({"role": "authenticated"})));
        assert_eq!(
            (user.status, user.body_json()["x-role"].as_str()),
            (200, Some("authenticated"))
        );
        assert_eq!(
            root(&mint(SECRET, json!({"role": "anon"}))).body_json()["x-role"],
            "anon"
        );
        let mut moved = signer;
        moved["kid"] = json!("kid-2");
        let refused = root(&mint_es256(&moved, json!({"role": "anon"})));
        assert_eq!(
            (refused.status, refused.body_json()["code"].as_str()),
            (401, Some("PGRST301"))
        );
    }
}
