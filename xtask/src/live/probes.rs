//! The client probes: each request a Supabase client makes that the checks send, the
//! route of the template's `kong.yml` it goes to, and the status the real Kong, GoTrue,
//! PostgREST and edge runtime answer for each kind of key. `docs/verify.md` holds the
//! same table with the source of every cell; a test keeps the two equal, and the
//! stand-ins' own test asserts that table against their behaviour.

use crate::secrets::name;

/// The kinds of key a probe is sent with: the table's columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Anon,
    ServiceRole,
    /// A key valid before a rotation: signed with the previous `JWT_SECRET`.
    Stale,
    /// A key signed with a random secret nobody configured.
    Forged,
    /// The header carrying the key left out.
    NoKey,
}

impl Column {
    pub const ALL: [Column; 5] = [
        Column::Anon,
        Column::ServiceRole,
        Column::Stale,
        Column::Forged,
        Column::NoKey,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// How the docs' table heads the column.
    pub fn heading(self) -> &'static str {
        match self {
            Column::Anon => name::ANON_KEY,
            Column::ServiceRole => name::SERVICE_ROLE_KEY,
            Column::Stale => "stale key",
            Column::Forged => "random-secret key",
            Column::NoKey => "no key",
        }
    }
}

/// One request of the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub id: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    /// `apikey` is always the current `ANON_KEY` (to get past Kong's key-auth) and only
    /// `Authorization` carries the key under test; else both carry it, as supabase-js does.
    pub apikey_is_anon: bool,
    /// The route of `kong.yml` it reaches.
    pub route: &'static str,
    /// The status for each [`Column`].
    pub expect: [u16; 5],
}

impl Probe {
    pub fn expected(&self, column: Column) -> u16 {
        self.expect[column.index()]
    }

    /// `GET /auth/v1/health`.
    pub fn request(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub fn is_function(&self) -> bool {
        self.path.starts_with("/functions/")
    }
}

/// The probes, in the order they are sent.
pub const PROBES: &[Probe] = &[
    Probe {
        id: "auth-health",
        method: "GET",
        path: "/auth/v1/health",
        apikey_is_anon: false,
        route: "`auth-v1` (`/auth/v1/`, key-auth, acl admin/anon)",
        expect: [200, 200, 401, 401, 401],
    },
    Probe {
        id: "auth-admin",
        method: "GET",
        path: "/auth/v1/admin/users?per_page=1",
        apikey_is_anon: true,
        route: "`auth-v1`",
        expect: [403, 200, 403, 403, 401],
    },
    Probe {
        id: "rest",
        method: "GET",
        path: "/rest/v1/receptor_live_check",
        apikey_is_anon: false,
        route: "`rest-v1` (`/rest/v1/`, key-auth, acl admin/anon)",
        expect: [404, 404, 401, 401, 401],
    },
    Probe {
        id: "rest-bearer",
        method: "GET",
        path: "/rest/v1/receptor_live_check",
        apikey_is_anon: true,
        route: "`rest-v1`",
        expect: [404, 404, 401, 401, 404],
    },
    Probe {
        id: "functions",
        method: "POST",
        path: "/functions/v1/hello",
        apikey_is_anon: false,
        route: "`functions-v1` (`/functions/v1/`, no key-auth)",
        expect: [200, 200, 401, 401, 401],
    },
];

/// The table as `docs/verify.md` shows it, between its markers.
pub fn markdown() -> String {
    let mut out = String::from("| probe | request | headers | route in kong.yml |");
    for column in Column::ALL {
        out.push_str(&format!(" {} |", column.heading()));
    }
    out.push_str("\n| :--- | :--- | :--- | :--- |");
    out.push_str(&" ---: |".repeat(Column::ALL.len()));
    out.push('\n');
    for probe in PROBES {
        let apikey = if probe.apikey_is_anon { name::ANON_KEY } else { "KEY" };
        out.push_str(&format!(
            "| `{}` | `{}` | `apikey: {apikey}`, `Authorization: Bearer KEY` | {} |",
            probe.id,
            probe.request(),
            probe.route
        ));
        for status in probe.expect {
            out.push_str(&format!(" {status} |"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_show_this_table() {
        let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/verify.md")).unwrap();
        let start = docs
            .find("<!-- probes:start -->\n")
            .expect("docs/verify.md marks the probe table")
            + 22;
        let end = docs.find("<!-- probes:end -->").unwrap();
        assert_eq!(
            docs[start..end],
            markdown(),
            "update docs/verify.md from live::probes::markdown()"
        );
    }
}
