//! Bearer tokens for writes and admin calls. Reads, health and reflection stay open.

use tonic::metadata::MetadataMap;
use tonic::{Code, Status};
use tonic_types::ErrorDetails;

use crate::error::status;

/// The tokens allowed to write, each with the name recorded as the author of its writes.
#[derive(Clone, Default)]
pub struct Tokens(Vec<(String, String)>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

impl Tokens {
    /// Parses `name=token` pairs separated by commas (`alice=s3cret,ci=t0ken`).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, token) = pair.split_once('=').ok_or_else(|| {
                format!(
                    "token entry {name:?} is not name=token",
                    name = pair.split('=').next().unwrap_or("")
                )
            })?;
            if name.is_empty() || token.len() < 8 {
                return Err(format!(
                    "token for {name:?} must have a name and at least 8 characters"
                ));
            }
            out.push((name.to_owned(), token.to_owned()));
        }
        Ok(Self(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name behind the request's `authorization: Bearer …` header, or UNAUTHENTICATED.
    pub fn authorize(&self, metadata: &MetadataMap) -> Result<String, Status> {
        let unauthenticated = |why: &str| {
            status(
                Code::Unauthenticated,
                "TOKEN_MISSING_OR_INVALID",
                why.to_owned(),
                ErrorDetails::new(),
            )
        };
        if self.0.is_empty() {
            return Err(unauthenticated(
                "writes are disabled: the server was started without tokens (--tokens or LEVERAGE_TOKENS)",
            ));
        }
        let header = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                unauthenticated("this call needs an `authorization: Bearer <token>` header")
            })?;
        let presented = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| unauthenticated("the authorization header must be `Bearer <token>`"))?;
        // Check every token, in constant time per token, so timing tells nothing.
        let mut found = None;
        for (name, token) in &self.0 {
            if constant_time_eq(token.as_bytes(), presented.as_bytes()) {
                found = Some(name.clone());
            }
        }
        found.ok_or_else(|| unauthenticated("the token is not valid"))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(value: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", value.parse().unwrap());
        m
    }

    #[test]
    fn only_a_listed_bearer_token_authorizes() {
        let t = Tokens::parse("alice=0123456789, bob=abcdefghij").unwrap();
        assert_eq!(t.authorize(&meta("Bearer abcdefghij")).unwrap(), "bob");
        assert_eq!(
            t.authorize(&meta("Bearer 012345678")).unwrap_err().code(),
            Code::Unauthenticated
        );
        assert_eq!(
            t.authorize(&meta("0123456789")).unwrap_err().code(),
            Code::Unauthenticated
        );
        assert_eq!(
            t.authorize(&MetadataMap::new()).unwrap_err().code(),
            Code::Unauthenticated
        );
        assert!(Tokens::parse("alice=short").is_err());
        assert!(format!("{t:?}").contains("alice") && !format!("{t:?}").contains("0123456789"));
    }
}
