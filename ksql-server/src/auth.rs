//! HTTP basic authentication, as ksqlDB's `authentication.method=BASIC` with Jetty's
//! `PropertyFileLoginModule`: a file of users, one a line,
//!
//! ```text
//! # user: password[,role ...]
//! fred: OBF:1w8t1tvf1w261w8v1w1c1tvn1w8x,user,admin
//! harry: changeme,user,developer
//! tom: MD5:164c88b302622e17050af52c89945d44,user
//! ```
//!
//! The password is plain text, `OBF:` (Jetty's reversible obfuscation) or `MD5:` (hex digest);
//! `CRYPT:` is refused when the file is read. `=` may stand for `:`; blank lines and lines
//! starting with `#` or `!` are skipped. Every request must then carry
//! `Authorization: Basic base64(user:password)`; passwords are compared in constant time.
//!
//! Failures answer as ksqlDB does: no or wrong credentials 401 with
//! `{"@type":"generic_error","error_code":40100,"message":"Unauthorized"}` and
//! `WWW-Authenticate: Basic realm="KsqlServer-Props"`; an authorization header that is not
//! base64 `user:password` 400 (`Malformed authorization header`); a user holding none of the
//! allowed roles (`authentication.roles`, default any) 403 with `error_code` 40300.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::error::{FORBIDDEN, UNAUTHORIZED};
use crate::{Error, Result};

/// A stored password.
enum Credential {
    /// Plain text, or `OBF:` decoded.
    Plain(Vec<u8>),
    /// `MD5:` hex digest.
    Md5([u8; 16]),
}

impl Credential {
    /// Whether `password` matches, in time independent of where the bytes differ.
    fn matches(&self, password: &[u8]) -> bool {
        match self {
            Credential::Plain(p) => bool::from(p.as_slice().ct_eq(password)),
            Credential::Md5(d) => bool::from(d.as_slice().ct_eq(Md5::digest(password).as_slice())),
        }
    }
}

struct User {
    credential: Credential,
    roles: Vec<String>,
}

/// The users of a password file and the roles allowed in.
pub struct BasicAuth {
    users: HashMap<String, User>,
    /// `None`: any authenticated user.
    allowed_roles: Option<Vec<String>>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut users: Vec<&String> = self.users.keys().collect();
        users.sort();
        f.debug_struct("BasicAuth").field("users", &users).field("allowed_roles", &self.allowed_roles).finish()
    }
}

impl BasicAuth {
    /// Reads a password file (format in the module docs).
    ///
    /// # Errors
    /// [`Error::Auth`] naming the file and line: unreadable file, a line without `:`, an empty
    /// user name, a bad `OBF:` or `MD5:` value, `CRYPT:`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Auth { path: path.to_owned(), line: 0, message: e.to_string() })?;
        Self::parse(&text).map_err(|(line, message)| Error::Auth { path: path.to_owned(), line, message })
    }

    /// Parses the text of a password file; an error gives the line number (from 1).
    fn parse(text: &str) -> std::result::Result<Self, (usize, String)> {
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let at = line.find([':', '=']).ok_or((n + 1, "expected `user: password[,role ...]`".to_owned()))?;
            let (name, rest) = (line[..at].trim(), &line[at + 1..]);
            if name.is_empty() {
                return Err((n + 1, "empty user name".into()));
            }
            let mut parts = rest.split(',').map(str::trim);
            let password = parts.next().unwrap_or("");
            let credential = credential(password).map_err(|m| (n + 1, m))?;
            let roles = parts.filter(|r| !r.is_empty()).map(str::to_owned).collect();
            users.insert(name.to_owned(), User { credential, roles });
        }
        Ok(BasicAuth { users, allowed_roles: None })
    }

    /// Only users holding one of `roles` get in (ksqlDB's `authentication.roles`); `*` or `**`
    /// in the list allows any authenticated user, as an empty list does here.
    #[must_use]
    pub fn with_roles(mut self, roles: Vec<String>) -> Self {
        self.allowed_roles = if roles.is_empty() || roles.iter().any(|r| r == "*" || r == "**") { None } else { Some(roles) };
        self
    }

    /// How many users the file defines.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file defines no user (then every request is refused).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Checks an `Authorization` header value.
    fn check(&self, header: Option<&[u8]>) -> Result<()> {
        let unauthorized = || Error::Generic { code: UNAUTHORIZED, message: "Unauthorized".into() };
        let header = header.ok_or_else(unauthorized)?;
        let encoded = match header.get(..6) {
            Some(scheme) if scheme.eq_ignore_ascii_case(b"basic ") => header[6..].trim_ascii(),
            _ => return Err(unauthorized()),
        };
        let malformed = || Error::bad_request("Malformed authorization header");
        let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).map_err(|_| malformed())?;
        let at = decoded.iter().position(|b| *b == b':').ok_or_else(malformed)?;
        let (name, password) = (&decoded[..at], &decoded[at + 1..]);
        let user = std::str::from_utf8(name).ok().and_then(|n| self.users.get(n));
        // An unknown user costs a comparison too, so timing does not tell which names exist.
        let dummy = Credential::Plain(Vec::new());
        let ok = user.map_or(&dummy, |u| &u.credential).matches(password) && user.is_some();
        let user = user.filter(|_| ok).ok_or_else(unauthorized)?;
        match &self.allowed_roles {
            Some(allowed) if !user.roles.iter().any(|r| allowed.contains(r)) => Err(Error::Generic { code: FORBIDDEN, message: "Forbidden".into() }),
            _ => Ok(()),
        }
    }
}

/// A password as the file spells it.
fn credential(p: &str) -> std::result::Result<Credential, String> {
    if let Some(obf) = p.strip_prefix("OBF:") {
        deobfuscate(obf).map(Credential::Plain).ok_or_else(|| format!("invalid OBF: password {obf:?}"))
    } else if let Some(hex) = p.strip_prefix("MD5:") {
        let bytes: Option<Vec<u8>> =
            (0..hex.len()).step_by(2).map(|i| hex.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect();
        bytes.and_then(|b| <[u8; 16]>::try_from(b).ok()).map(Credential::Md5).ok_or_else(|| format!("invalid MD5: digest {hex:?} (expected 32 hex digits)"))
    } else if p.starts_with("CRYPT:") {
        Err("CRYPT: passwords are not supported: use plain text, OBF: or MD5:".into())
    } else {
        Ok(Credential::Plain(p.as_bytes().to_vec()))
    }
}

/// Jetty's `Password.deobfuscate`: groups of 4 base-36 digits, each one byte (`U` + 4 digits
/// for a byte above 127).
fn deobfuscate(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4);
    let mut i = 0;
    while i < s.len() {
        let wide = s.as_bytes()[i] == b'U';
        if wide {
            i += 1;
        }
        let n = u32::from_str_radix(s.get(i..i + 4)?, 36).ok()?;
        let b = if wide { (n >> 8) as u8 } else { (((n / 256) + (n % 256)).checked_sub(254)? / 2) as u8 };
        out.push(b);
        i += 4;
    }
    Some(out)
}

/// The middleware: lets a request through when its credentials are good.
pub(crate) async fn require(State(auth): State<Arc<BasicAuth>>, request: Request, next: Next) -> Response {
    match auth.check(request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes())) {
        Ok(()) => next.run(request).await,
        Err(e) => {
            tracing::debug!(path = %request.uri().path(), error = %e, "request refused");
            e.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_password: &str) -> Vec<u8> {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_password)).into_bytes()
    }

    #[test]
    fn password_file_formats_and_roles() {
        let auth = BasicAuth::parse(
            "# users\n\nfred: OBF:1w8t1tvf1w261w8v1w1c1tvn1w8x,user,admin\nharry = changeme , user, developer\ntom: MD5:0d107d09f5bbe40cade3de5c71e9e9b7,user\n",
        )
        .unwrap();
        assert_eq!(auth.len(), 3);
        assert!(auth.check(Some(&basic("fred:letmein"))).is_ok());
        assert!(auth.check(Some(&basic("harry:changeme"))).is_ok());
        assert!(auth.check(Some(&basic("tom:letmein"))).is_ok());
        for bad in ["fred:letmeout", "tom:x", "nobody:letmein", "harry:changeme "] {
            assert_eq!(auth.check(Some(&basic(bad))).unwrap_err().code(), UNAUTHORIZED, "{bad}");
        }
        assert_eq!(auth.check(None).unwrap_err().code(), UNAUTHORIZED);
        assert_eq!(auth.check(Some(b"Bearer abc")).unwrap_err().code(), UNAUTHORIZED);
        assert_eq!(auth.check(Some(b"Basic !!!")).unwrap_err().code(), crate::error::BAD_REQUEST);
        assert_eq!(auth.check(Some(&basic("no-colon"))).unwrap_err().code(), crate::error::BAD_REQUEST);

        let admins = auth.with_roles(vec!["admin".into()]);
        assert!(admins.check(Some(&basic("fred:letmein"))).is_ok());
        assert_eq!(admins.check(Some(&basic("harry:changeme"))).unwrap_err().code(), FORBIDDEN);
        let any = admins.with_roles(vec!["**".into()]);
        assert!(any.check(Some(&basic("harry:changeme"))).is_ok());
    }

    #[test]
    fn bad_lines_name_their_line() {
        assert_eq!(BasicAuth::parse("a: b\nno separator\n").unwrap_err().0, 2);
        assert!(BasicAuth::parse("x: CRYPT:adpexzg3FUZAk").unwrap_err().1.contains("CRYPT"));
        assert!(BasicAuth::parse("x: MD5:abc").unwrap_err().1.contains("32 hex digits"));
        assert!(BasicAuth::parse("x: OBF:zz").is_err());
        assert!(BasicAuth::parse(": pw").is_err());
        // A password may hold ':' (only the first separates the user).
        let auth = BasicAuth::parse("u: a:b").unwrap();
        assert!(auth.check(Some(&basic("u:a:b"))).is_ok());
    }
}
