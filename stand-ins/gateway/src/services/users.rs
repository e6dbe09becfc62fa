//! The users and refresh tokens of the auth stand-in, kept where GoTrue keeps them: out
//! of the container, so that they outlive it. GoTrue writes them to its Postgres tables;
//! this stand-in writes one JSON file (`STAND_IN_AUTH_STATE`, default
//! `/var/lib/stand-in-auth/state.json`, a named volume in the test stack) rather than
//! speak Postgres's wire protocol from a static binary with no client library. The test
//! only needs what GoTrue's tables give a client: a recreated auth container still knows
//! every user and every live refresh token.
//!
//! The file is written whole on every change: a temporary file (mode 0600), synced, then
//! renamed over the old one, under one lock, so a reader never sees half a file. Every
//! operation reads it again under an exclusive lock of `STATE.lock`, as every GoTrue
//! sees the same tables: two auth containers share it while one replaces the other.
//! Refresh tokens rotate as GoTrue's do (see [`Users::refresh`]). Passwords are kept as a salted SHA-256, not GoTrue's bcrypt: nothing here is a real account.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Mutex;

use rand::TryRng;
use rand::rngs::SysRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::keys::same_bytes;

/// The default place of the state file.
pub const DEFAULT_STATE: &str = "/var/lib/stand-in-auth/state.json";

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub confirmed: bool,
    pub created_at: u64,
    salt: String,
    hash: String,
}

/// What a refresh token stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Refresh {
    pub user_id: String,
    pub session_id: String,
    pub revoked: bool,
    /// When it was revoked (Unix seconds), for the reuse interval.
    pub revoked_at: u64,
    /// The token it was exchanged for.
    pub child: Option<String>,
}

/// What refreshing a token found.
#[derive(Debug, PartialEq)]
pub enum Refreshed {
    /// The new token, and the user and session it continues.
    Rotated {
        token: String,
        user: User,
        session_id: String,
    },
    NotFound,
    AlreadyUsed,
}

#[derive(Default)]
struct State {
    users: Vec<User>,
    /// `(token, what it stands for)`, in issue order.
    tokens: Vec<(String, Refresh)>,
}

pub struct Users {
    path: PathBuf,
    state: Mutex<State>,
}

/// The state, held: the in-process lock and, while the lock file opens, the file lock.
struct Locked<'a> {
    state: std::sync::MutexGuard<'a, State>,
    _file: Option<fs::File>,
}

impl std::ops::Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.state
    }
}

/// The state file at `path`: empty when it does not exist yet.
fn read(path: &std::path::Path) -> Result<State, String> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice::<Value>(&bytes)
            .ok()
            .as_ref()
            .and_then(State::parse)
            .ok_or_else(|| {
                format!(
                    "{} (STAND_IN_AUTH_STATE) is not a state file of this stand-in",
                    path.display()
                )
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(format!("cannot read {} (STAND_IN_AUTH_STATE): {e}", path.display())),
    }
}

/// `n` random bytes from the operating system.
fn random(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    SysRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random source failed");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random UUID version 4, as GoTrue gives users and sessions.
pub fn uuid_v4() -> String {
    let mut b = random(16);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// A refresh token: 16 random letters and digits.
fn refresh_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    random(16)
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

fn digest(salt: &str, password: &str) -> String {
    hex(&Sha256::new().chain_update(salt).chain_update(password).finalize())
}

fn text(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_owned)
}

impl State {
    fn parse(document: &Value) -> Option<State> {
        let users = document["users"]
            .as_array()?
            .iter()
            .map(|u| {
                Some(User {
                    id: text(u, "id")?,
                    email: text(u, "email")?,
                    confirmed: u["confirmed"].as_bool()?,
                    created_at: u["created_at"].as_u64()?,
                    salt: text(u, "salt")?,
                    hash: text(u, "hash")?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let tokens = document["refresh_tokens"]
            .as_array()?
            .iter()
            .map(|t| {
                Some((
                    text(t, "token")?,
                    Refresh {
                        user_id: text(t, "user_id")?,
                        session_id: text(t, "session_id")?,
                        revoked: t["revoked"].as_bool()?,
                        revoked_at: t["revoked_at"].as_u64().unwrap_or(0),
                        child: text(t, "child"),
                    },
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(State { users, tokens })
    }

    fn document(&self) -> Value {
        let users: Vec<Value> = self
            .users
            .iter()
            .map(|u| {
                json!({"id": u.id, "email": u.email, "confirmed": u.confirmed, "created_at": u.created_at,
                    "salt": u.salt, "hash": u.hash})
            })
            .collect();
        let tokens: Vec<Value> = self
            .tokens
            .iter()
            .map(|(token, r)| {
                json!({"token": token, "user_id": r.user_id, "session_id": r.session_id, "revoked": r.revoked,
                    "revoked_at": r.revoked_at, "child": r.child})
            })
            .collect();
        json!({"users": users, "refresh_tokens": tokens})
    }
}

impl Users {
    /// Opens the state at `path`: empty when the file does not exist yet.
    pub fn open(path: PathBuf) -> Result<Users, String> {
        let state = read(&path)?;
        Ok(Users {
            path,
            state: Mutex::new(state),
        })
    }

    fn save(&self, state: &State) -> Result<(), String> {
        let temporary = self.path.with_extension(format!("tmp.{}", std::process::id()));
        let written = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .and_then(|mut file| {
                file.write_all(state.document().to_string().as_bytes())?;
                file.sync_all()
            })
            .and_then(|()| fs::rename(&temporary, &self.path));
        written.map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }

    /// The state as the file has it now, held against this and other processes.
    fn lock(&self) -> Locked<'_> {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(self.path.with_extension("lock"))
            .ok()
            .filter(|file| file.lock().is_ok());
        if let Ok(fresh) = read(&self.path) {
            *state = fresh;
        }
        Locked { state, _file: file }
    }

    /// A new user; `None` when one already has this email.
    pub fn sign_up(&self, email: &str, password: &str, confirmed: bool, now: u64) -> Result<Option<User>, String> {
        let mut state = self.lock();
        if state.users.iter().any(|u| u.email.eq_ignore_ascii_case(email)) {
            return Ok(None);
        }
        let salt = hex(&random(16));
        let user = User {
            id: uuid_v4(),
            email: email.to_ascii_lowercase(),
            confirmed,
            created_at: now,
            hash: digest(&salt, password),
            salt,
        };
        state.users.push(user.clone());
        self.save(&state)?;
        Ok(Some(user))
    }

    /// The user with this email and password.
    pub fn sign_in(&self, email: &str, password: &str) -> Option<User> {
        let state = self.lock();
        let user = state.users.iter().find(|u| u.email.eq_ignore_ascii_case(email))?;
        same_bytes(&digest(&user.salt, password), &user.hash).then(|| user.clone())
    }

    pub fn user(&self, id: &str) -> Option<User> {
        self.lock().users.iter().find(|u| u.id == id).cloned()
    }

    /// A new session for `user`: its id and first refresh token.
    pub fn start_session(&self, user: &User) -> Result<(String, String), String> {
        let mut state = self.lock();
        let (session_id, token) = (uuid_v4(), refresh_token());
        state.tokens.push((
            token.clone(),
            Refresh {
                user_id: user.id.clone(),
                session_id: session_id.clone(),
                revoked: false,
                revoked_at: 0,
                child: None,
            },
        ));
        self.save(&state)?;
        Ok((session_id, token))
    }

    /// Rotates `token` at `now`, as GoTrue does with refresh token rotation on: it is
    /// revoked and a new one of the same session returned. A revoked token presented again
    /// within `reuse_interval` seconds of its revocation, whose successor is still live,
    /// gets that successor (a client retrying a refresh whose answer it lost); any other
    /// reuse is refused and revokes every token of the session.
    pub fn refresh(&self, token: &str, now: u64, reuse_interval: u64) -> Result<Refreshed, String> {
        let mut state = self.lock();
        let Some(index) = state.tokens.iter().position(|(t, _)| same_bytes(t, token)) else {
            return Ok(Refreshed::NotFound);
        };
        let Some(user) = state
            .users
            .iter()
            .find(|u| u.id == state.tokens[index].1.user_id)
            .cloned()
        else {
            return Ok(Refreshed::NotFound);
        };
        let used = state.tokens[index].1.clone();
        if used.revoked {
            let live_child = used
                .child
                .as_ref()
                .filter(|child| state.tokens.iter().any(|(t, r)| t == *child && !r.revoked));
            if let Some(child) = live_child.filter(|_| now < used.revoked_at + reuse_interval) {
                return Ok(Refreshed::Rotated {
                    token: child.clone(),
                    user,
                    session_id: used.session_id,
                });
            }
            for (_, other) in state.tokens.iter_mut().filter(|(_, r)| r.session_id == used.session_id) {
                if !other.revoked {
                    other.revoked = true;
                    other.revoked_at = now;
                }
            }
            self.save(&state)?;
            return Ok(Refreshed::AlreadyUsed);
        }
        let new_token = refresh_token();
        let entry = &mut state.tokens[index].1;
        entry.revoked = true;
        entry.revoked_at = now;
        entry.child = Some(new_token.clone());
        let next = Refresh {
            user_id: used.user_id,
            session_id: used.session_id.clone(),
            revoked: false,
            revoked_at: 0,
            child: None,
        };
        state.tokens.push((new_token.clone(), next));
        self.save(&state)?;
        Ok(Refreshed::Rotated {
            token: new_token,
            user,
            session_id: used.session_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_tokens_outlive_the_process_and_a_used_token_is_revoked() {
        let dir = std::env::temp_dir().join(format!("stand-in-users-{}", uuid_v4()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let users = Users::open(path.clone()).unwrap();
        let user = users.sign_up("A@example.com", "password1", true, 1).unwrap().unwrap();
        assert!(users.sign_up("a@example.com", "other", true, 1).unwrap().is_none());
        let (session, first) = users.start_session(&user).unwrap();
        drop(users);

        use std::os::unix::fs::PermissionsExt;
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let again = Users::open(path).unwrap();
        assert_eq!(
            again.sign_in("a@example.com", "password1").map(|u| u.id),
            Some(user.id.clone())
        );
        assert!(again.sign_in("a@example.com", "wrong").is_none());
        let Refreshed::Rotated { token, session_id, .. } = again.refresh(&first, 100, 10).unwrap() else {
            panic!("the first token refreshes");
        };
        assert_eq!(session_id, session);
        assert_ne!(token, first);
        // Within the reuse interval, the used token gets its live successor again.
        let retried = again.refresh(&first, 105, 10).unwrap();
        assert!(
            matches!(&retried, Refreshed::Rotated { token: t, .. } if *t == token),
            "{retried:?}"
        );
        // After it, the reuse is refused and the whole session is revoked.
        assert_eq!(again.refresh(&first, 111, 10).unwrap(), Refreshed::AlreadyUsed);
        assert_eq!(again.refresh(&token, 112, 10).unwrap(), Refreshed::AlreadyUsed);
        assert_eq!(again.refresh("nope", 112, 10).unwrap(), Refreshed::NotFound);
        let (_, other_session) = again.start_session(&user).unwrap();
        assert!(matches!(
            again.refresh(&other_session, 113, 10).unwrap(),
            Refreshed::Rotated { .. }
        ));
        fs::remove_dir_all(dir).unwrap();
    }
}
