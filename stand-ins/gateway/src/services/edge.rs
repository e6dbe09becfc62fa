//! The edge runtime's main service (`volumes/functions/main`): with `VERIFY_JWT=true`
//! every request but `OPTIONS` needs a JWT, any role, checked as `keys::edge` says: the
//! `Authorization: Bearer` token, or, when that is absent or an `sb_` key, the
//! `sb-api-key` header Kong sets for an `sb_` key; else 401 `{"msg":"Invalid JWT"}`. Then `/<name>` runs the
//! function: the names in `STAND_IN_FUNCTIONS` (default `hello`) answer 200, `main` or
//! a malformed name 400, any other 500 (its worker cannot boot).

use serde_json::json;

use crate::http::{Request, Response};
use crate::keys::{self, Env, Verifier};
use crate::server::Handler;

pub struct EdgeRuntime {
    verifier: Option<Box<dyn Verifier>>,
    functions: Vec<String>,
}

/// The edge runtime listens on 9000.
pub fn port(env: Env<'_>) -> u16 {
    env("STAND_IN_PORT").and_then(|p| p.parse().ok()).unwrap_or(9000)
}

impl EdgeRuntime {
    pub fn from_env(env: Env<'_>) -> Result<EdgeRuntime, String> {
        Ok(EdgeRuntime {
            verifier: (env("VERIFY_JWT").as_deref() == Some("true"))
                .then(|| Box::new(keys::edge::EdgeKeys::from_env(env)) as Box<dyn Verifier>),
            functions: env("STAND_IN_FUNCTIONS")
                .unwrap_or_else(|| "hello".into())
                .split(',')
                .map(|f| f.trim().to_owned())
                .filter(|f| !f.is_empty())
                .collect(),
        })
    }
}

impl Handler for EdgeRuntime {
    fn handle(&self, request: &Request) -> Response {
        if request.path == "/_internal/health" {
            return Response::json(200, &json!({"message": "ok"}));
        }
        if let (Some(verifier), false) = (&self.verifier, request.method == "OPTIONS") {
            let token = match request.header("authorization") {
                Some(auth) if auth.starts_with("Bearer ") && !auth.starts_with("Bearer sb_") => Some(&auth[7..]),
                _ => request.header("sb-api-key"),
            };
            let valid = token.is_some_and(|token| !token.is_empty() && verifier.verify(token).is_ok());
            if !valid {
                return Response::json(401, &json!({"msg": "Invalid JWT"}));
            }
        }
        let name = request
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or_default();
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok || name == "main" {
            return Response::json(400, &json!({"msg": "missing or invalid function name"}));
        }
        if !self.functions.iter().any(|f| f == name) {
            return Response::json(500, &json!({"msg": "InvalidWorkerCreation: worker boot error"}));
        }
        Response::json(200, &json!({"message": format!("Hello from {name}!")}))
    }

    fn health_path(&self) -> &str {
        "/_internal/health"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{SECRET, mint};

    fn runtime(verify: &str) -> EdgeRuntime {
        let verify = verify.to_owned();
        EdgeRuntime::from_env(&move |name| match name {
            "JWT_SECRET" => Some(SECRET.to_owned()),
            "VERIFY_JWT" => Some(verify.clone()),
            _ => None,
        })
        .unwrap()
    }

    #[test]
    fn any_role_signed_with_the_secret_runs_a_function() {
        let anon = mint(SECRET, json!({"role": "anon"}));
        let call = |runtime: &EdgeRuntime, auth: Option<&str>| {
            let mut request = Request::new("POST", "/hello");
            if let Some(auth) = auth {
                request = request.with_header("Authorization", auth);
            }
            runtime.handle(&request).status
        };
        let strict = runtime("true");
        assert_eq!(call(&strict, Some(&format!("Bearer {anon}"))), 200);
        assert_eq!(call(&strict, Some(&anon)), 401);
        assert_eq!(call(&strict, None), 401);
        assert_eq!(call(&runtime("false"), None), 200);
    }
}
