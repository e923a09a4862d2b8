//! Access control: bearer tokens with roles, checked for every call by one layer in front of
//! all services, from one table of what each method needs.
//!
//! Tokens are kept only as SHA-256 digests and compared in constant time. Health and
//! reflection are always open; reads are open unless configured otherwise; every method that
//! is not listed as a read needs a role, so a new RPC is closed until it is classified.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use tonic::Status;

use crate::error::Refusal;

/// What a token may do. Each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads, when reads are not open to everyone.
    Reader,
    /// Edits data: holdings, observations and the reference records (figures, exchange rates,
    /// doctrines, positions, assessments, instruments and their allocations).
    Editor,
    /// Administers the server: plugin reloads.
    Admin,
}

impl Role {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "reader" => Some(Role::Reader),
            "editor" => Some(Role::Editor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// Who made a call: put in the request's extensions by the access layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// What a method needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Health and reflection: never closed.
    Open,
    /// A read: open when reads are open, else a reader token.
    Read,
    /// A write or an admin call.
    Role(Role),
}

/// Every write and admin method with the role it needs.
pub const WRITES: &[(&str, Role)] = &[
    ("/leverage.v1.AssetService/CreateHolding", Role::Editor),
    ("/leverage.v1.AssetService/CreateObservation", Role::Editor),
    ("/leverage.v1.AssetService/UpdateHolding", Role::Editor),
    ("/leverage.v1.AssetService/DeleteHolding", Role::Editor),
    ("/leverage.v1.AssetService/UpdateObservation", Role::Editor),
    ("/leverage.v1.AssetService/DeleteObservation", Role::Editor),
    ("/leverage.v1.DatasetService/ImportDataset", Role::Editor),
    (
        "/leverage.v1.DatasetService/CompactDatasetVersions",
        Role::Admin,
    ),
    ("/leverage.v1.ScoringService/ReloadPlugins", Role::Admin),
    ("/leverage.v1.DatasetService/CreateFigure", Role::Editor),
    ("/leverage.v1.DatasetService/UpdateFigure", Role::Editor),
    ("/leverage.v1.DatasetService/DeleteFigure", Role::Editor),
    (
        "/leverage.v1.DatasetService/CreateExchangeRate",
        Role::Editor,
    ),
    (
        "/leverage.v1.DatasetService/UpdateExchangeRate",
        Role::Editor,
    ),
    (
        "/leverage.v1.DatasetService/DeleteExchangeRate",
        Role::Editor,
    ),
    ("/leverage.v1.LegalRiskService/CreateDoctrine", Role::Editor),
    ("/leverage.v1.LegalRiskService/UpdateDoctrine", Role::Editor),
    ("/leverage.v1.LegalRiskService/DeleteDoctrine", Role::Editor),
    ("/leverage.v1.LegalRiskService/CreatePosition", Role::Editor),
    ("/leverage.v1.LegalRiskService/UpdatePosition", Role::Editor),
    ("/leverage.v1.LegalRiskService/DeletePosition", Role::Editor),
    (
        "/leverage.v1.LegalRiskService/CreatePublishedAssessment",
        Role::Editor,
    ),
    (
        "/leverage.v1.LegalRiskService/UpdatePublishedAssessment",
        Role::Editor,
    ),
    (
        "/leverage.v1.LegalRiskService/DeletePublishedAssessment",
        Role::Editor,
    ),
    (
        "/leverage.v1.DefenceFundingService/CreateInstrument",
        Role::Editor,
    ),
    (
        "/leverage.v1.DefenceFundingService/UpdateInstrument",
        Role::Editor,
    ),
    (
        "/leverage.v1.DefenceFundingService/DeleteInstrument",
        Role::Editor,
    ),
    (
        "/leverage.v1.DefenceFundingService/CreateAllocation",
        Role::Editor,
    ),
    (
        "/leverage.v1.DefenceFundingService/UpdateAllocation",
        Role::Editor,
    ),
    (
        "/leverage.v1.DefenceFundingService/DeleteAllocation",
        Role::Editor,
    ),
];

/// Every read method. A method in neither list needs the admin role.
pub const READS: [&str; 24] = [
    "/leverage.v1.AssetService/ListHoldings",
    "/leverage.v1.AssetService/GetHolding",
    "/leverage.v1.AssetService/ListObservations",
    "/leverage.v1.AssetService/SummarizeHoldings",
    "/leverage.v1.DatasetService/GetDatasetInfo",
    "/leverage.v1.DatasetService/ListFigures",
    "/leverage.v1.DatasetService/ListExchangeRates",
    "/leverage.v1.DatasetService/ListDatasetVersions",
    "/leverage.v1.DatasetService/ListRecordVersions",
    "/leverage.v1.DatasetService/ExportDataset",
    "/leverage.v1.LegalRiskService/ListDoctrines",
    "/leverage.v1.LegalRiskService/ListPositions",
    "/leverage.v1.LegalRiskService/ListPublishedAssessments",
    "/leverage.v1.LegalRiskService/AssessLegalRisk",
    "/leverage.v1.DefenceFundingService/ListInstruments",
    "/leverage.v1.DefenceFundingService/GetInstrument",
    "/leverage.v1.DefenceFundingService/ListAllocations",
    "/leverage.v1.DefenceFundingService/CheckEligibility",
    "/leverage.v1.ScoringService/ListPlugins",
    "/leverage.v1.ScoringService/GetPlugin",
    "/leverage.v1.ScoringService/ScoreScenario",
    "/leverage.v1.ScoringService/ScoreScenarios",
    "/leverage.v1.ScoringService/CompareScenarios",
    "/leverage.v1.ScoringService/SweepScenario",
];

pub fn requirement(path: &str) -> Requirement {
    if path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.") {
        return Requirement::Open;
    }
    // Every call asks, several layers each: one hash lookup rather than a walk of both tables.
    static TABLE: std::sync::OnceLock<std::collections::HashMap<&'static str, Requirement>> =
        std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let reads = READS.iter().map(|p| (*p, Requirement::Read));
        let writes = WRITES
            .iter()
            .map(|(p, role)| (*p, Requirement::Role(*role)));
        reads.chain(writes).collect()
    });
    table
        .get(path)
        .copied()
        .unwrap_or(Requirement::Role(Role::Admin))
}

#[derive(Clone)]
struct Token {
    name: String,
    role: Role,
    digest: [u8; 32],
}

/// The tokens and whether reads are open.
#[derive(Clone)]
pub struct AccessPolicy {
    tokens: Vec<Token>,
    reads_open: bool,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            reads_open: true,
        }
    }
}

impl std::fmt::Debug for AccessPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names and roles only: never secrets, not even digests.
        f.debug_struct("AccessPolicy")
            .field(
                "tokens",
                &self
                    .tokens
                    .iter()
                    .map(|t| (&t.name, t.role))
                    .collect::<Vec<_>>(),
            )
            .field("reads_open", &self.reads_open)
            .finish()
    }
}

/// The SHA-256 digest of a token, in lower-case hex: what a tokens file stores.
pub fn token_digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default = "open")]
    reads_open: bool,
    #[serde(default)]
    token: Vec<TokenEntry>,
}

fn open() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    role: Role,
    sha256: String,
}

impl AccessPolicy {
    /// Tokens given in the clear, `name:role=token` separated by commas (`name=token` means an
    /// editor). They are hashed at once and the clear text dropped.
    pub fn parse_tokens(spec: &str) -> Result<Self, String> {
        let mut policy = AccessPolicy::default();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (who, token) = pair.split_once('=').ok_or_else(|| {
                format!(
                    "token entry for {:?} is not name[:role]=token",
                    pair.split(':').next().unwrap_or("")
                )
            })?;
            let (name, role) = match who.split_once(':') {
                Some((name, role)) => (
                    name,
                    Role::parse(role)
                        .ok_or_else(|| format!("unknown role {role:?} for {name:?}"))?,
                ),
                None => (who, Role::Editor),
            };
            if name.is_empty() || token.len() < 8 {
                return Err(format!(
                    "token for {name:?} must have a name and at least 8 characters"
                ));
            }
            policy.add(name, role, Sha256::digest(token.as_bytes()).into())?;
        }
        Ok(policy)
    }

    /// A tokens file (TOML): `reads_open = true|false` and `[[token]]` entries with `name`,
    /// `role` (reader, editor, admin) and `sha256`, the hex digest of the token
    /// (`leverage token hash` prints it).
    pub fn from_file_text(text: &str) -> Result<Self, String> {
        let file: TokensFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut policy = AccessPolicy {
            tokens: Vec::new(),
            reads_open: file.reads_open,
        };
        for t in file.token {
            let digest = parse_hex_digest(&t.sha256)
                .ok_or_else(|| format!("token {:?}: sha256 must be 64 hex digits", t.name))?;
            policy.add(&t.name, t.role, digest)?;
        }
        Ok(policy)
    }

    fn add(&mut self, name: &str, role: Role, digest: [u8; 32]) -> Result<(), String> {
        if self.tokens.iter().any(|t| t.name == name) {
            return Err(format!("token name {name:?} is used twice"));
        }
        self.tokens.push(Token {
            name: name.to_owned(),
            role,
            digest,
        });
        Ok(())
    }

    /// Merges another policy's tokens (e.g. a file and the command line).
    pub fn merge(mut self, other: AccessPolicy) -> Result<Self, String> {
        for t in other.tokens {
            self.add(&t.name, t.role, t.digest)?;
        }
        Ok(self)
    }

    pub fn with_reads_open(mut self, open: bool) -> Self {
        self.reads_open = open;
        self
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn reads_open(&self) -> bool {
        self.reads_open
    }

    /// Whether a call to `path` with these headers may proceed, and as whom.
    pub fn check(
        &self,
        path: &str,
        headers: &http::HeaderMap,
    ) -> Result<Option<Principal>, Status> {
        let requirement = requirement(path);
        let needed = match requirement {
            Requirement::Open => return Ok(None),
            Requirement::Read if self.reads_open => {
                return Ok(self.identify(headers).ok().flatten());
            }
            Requirement::Read => Role::Reader,
            Requirement::Role(role) => role,
        };
        let principal = self.identify(headers)?.ok_or_else(|| {
            unauthenticated(if self.tokens.is_empty() {
                "this call needs a token, and the server was started without any (--tokens, --tokens-file)"
            } else {
                "this call needs an `authorization: Bearer <token>` header"
            })
        })?;
        if principal.role < needed {
            return Err(Refusal::RoleTooWeak {
                why: format!(
                    "{path} needs the {needed:?} role; {} has {:?}",
                    principal.name, principal.role
                )
                .to_lowercase(),
            }
            .into_status());
        }
        Ok(Some(principal))
    }

    /// The principal behind the headers: none without an authorization header, an error with
    /// a malformed or unknown token.
    fn identify(&self, headers: &http::HeaderMap) -> Result<Option<Principal>, Status> {
        let Some(header) = headers.get(http::header::AUTHORIZATION) else {
            return Ok(None);
        };
        let presented = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| unauthenticated("the authorization header must be `Bearer <token>`"))?;
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        // Compare against every token, each in constant time, so timing reveals nothing.
        let mut found = None;
        for t in &self.tokens {
            if constant_time_eq(&t.digest, &digest) {
                found = Some(Principal {
                    name: t.name.clone(),
                    role: t.role,
                });
            }
        }
        found
            .map(Some)
            .ok_or_else(|| unauthenticated("the token is not valid"))
    }
}

fn unauthenticated(why: &str) -> Status {
    Refusal::Unauthenticated {
        why: why.to_owned(),
    }
    .into_status()
}

fn parse_hex_digest(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

/// The principal of a request that passed the access layer (writes always have one).
pub fn principal<T>(request: &tonic::Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| unauthenticated("this call needs an `authorization: Bearer <token>` header"))
}

/// Checks every call against the policy before it reaches a service.
#[derive(Clone, Debug)]
pub struct AccessLayer {
    pub policy: Arc<AccessPolicy>,
}

impl<S> tower::Layer<S> for AccessLayer {
    type Service = Access<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Access {
            inner,
            policy: Arc::clone(&self.policy),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Access<S> {
    inner: S,
    policy: Arc<AccessPolicy>,
}

impl<S, B, R> tower::Service<http::Request<B>> for Access<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    R: Default + Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.policy.check(request.uri().path(), request.headers()) {
            Ok(principal) => {
                if let Some(p) = principal {
                    request.extensions_mut().insert(p);
                }
                Box::pin(self.inner.call(request))
            }
            Err(status) => {
                tracing::info!(method = request.uri().path(), code = ?status.code(), "call refused by access control");
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn headers(token: Option<&str>) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        if let Some(t) = token {
            h.insert(
                http::header::AUTHORIZATION,
                format!("Bearer {t}").parse().unwrap(),
            );
        }
        h
    }

    const CREATE: &str = "/leverage.v1.AssetService/CreateObservation";
    const RELOAD: &str = "/leverage.v1.ScoringService/ReloadPlugins";
    const LIST: &str = "/leverage.v1.AssetService/ListHoldings";

    #[test]
    fn roles_gate_writes_and_admin_calls() {
        let p = AccessPolicy::parse_tokens(
            "r:reader=reader-token, e:editor=editor-token, a:admin=admin-token",
        )
        .unwrap();
        let code = |path: &str, token: Option<&str>| {
            p.check(path, &headers(token)).err().map(|s| s.code())
        };
        assert_eq!(code(CREATE, None), Some(Code::Unauthenticated));
        assert_eq!(
            code(CREATE, Some("wrong-token")),
            Some(Code::Unauthenticated)
        );
        assert_eq!(
            code(CREATE, Some("reader-token")),
            Some(Code::PermissionDenied)
        );
        assert_eq!(code(CREATE, Some("editor-token")), None);
        assert_eq!(
            code(RELOAD, Some("editor-token")),
            Some(Code::PermissionDenied)
        );
        assert_eq!(code(RELOAD, Some("admin-token")), None);
        assert_eq!(code(LIST, None), None, "reads are open by default");
        assert_eq!(code("/grpc.health.v1.Health/Check", None), None);
    }

    #[test]
    fn closed_reads_need_a_reader_and_unknown_methods_an_admin() {
        let p = AccessPolicy::parse_tokens("r:reader=reader-token, e:editor=editor-token")
            .unwrap()
            .with_reads_open(false);
        assert_eq!(
            p.check(LIST, &headers(None)).unwrap_err().code(),
            Code::Unauthenticated
        );
        assert_eq!(
            p.check(LIST, &headers(Some("reader-token")))
                .unwrap()
                .unwrap()
                .name,
            "r"
        );
        assert_eq!(
            requirement("/leverage.v1.AssetService/PurgeEverything"),
            Requirement::Role(Role::Admin)
        );
        assert_eq!(
            p.check(
                "/leverage.v1.AssetService/PurgeEverything",
                &headers(Some("editor-token"))
            )
            .unwrap_err()
            .code(),
            Code::PermissionDenied
        );
        assert!(matches!(
            p.check(
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                &headers(None)
            ),
            Ok(None)
        ));
    }

    #[test]
    fn a_tokens_file_holds_digests_only() {
        let text = format!(
            "reads_open = false\n[[token]]\nname = \"ops\"\nrole = \"admin\"\nsha256 = \"{}\"\n",
            token_digest("s3cret-token")
        );
        let p = AccessPolicy::from_file_text(&text).unwrap();
        assert!(!p.reads_open());
        assert_eq!(
            p.check(RELOAD, &headers(Some("s3cret-token")))
                .unwrap()
                .unwrap()
                .role,
            Role::Admin
        );
        assert!(
            AccessPolicy::from_file_text(
                "[[token]]\nname = \"x\"\nrole = \"admin\"\nsha256 = \"zz\"\n"
            )
            .is_err()
        );
        assert!(AccessPolicy::from_file_text("colour = 1").is_err());
        assert!(!format!("{p:?}").contains(&token_digest("s3cret-token")));
    }

    #[test]
    fn clear_tokens_parse_with_an_optional_role() {
        let p = AccessPolicy::parse_tokens("alice=0123456789").unwrap();
        assert_eq!(
            p.check(CREATE, &headers(Some("0123456789")))
                .unwrap()
                .unwrap()
                .role,
            Role::Editor
        );
        assert!(AccessPolicy::parse_tokens("alice=short").is_err());
        assert!(AccessPolicy::parse_tokens("alice:root=0123456789").is_err());
        assert!(AccessPolicy::parse_tokens("a=0123456789,a=9876543210").is_err());
    }
}
