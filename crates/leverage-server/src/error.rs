//! The one mapping from errors to gRPC statuses (AIP-193). Every error type that can end a call
//! — the domain's, the store's, the plugin host's, one row's, and the server's own refusals
//! ([`Refusal`]) — is matched here exhaustively, without a fallback arm, so that a new variant
//! cannot compile until it has a code and a reason. Every status carries an `ErrorInfo` with an
//! UPPER_SNAKE reason, and invalid arguments a `BadRequest` naming each bad field; statuses made
//! by the transport itself (an unknown method, an undecodable message) get their `ErrorInfo` in
//! [`complete_headers`], which the call-limits layer applies to every reply.

use std::collections::HashMap;
use std::time::Duration;

use http::HeaderMap;
use leverage_core::DomainError;
use leverage_plugin_host::{HostError, RowError};
use leverage_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

pub const ERROR_DOMAIN: &str = "leverage.v1";

/// Builds a status with an `ErrorInfo` of `reason` and any extra details.
pub fn status(
    code: Code,
    reason: &str,
    message: impl Into<String>,
    mut details: ErrorDetails,
) -> Status {
    details.set_error_info(reason, ERROR_DOMAIN, HashMap::<String, String>::new());
    Status::with_error_details(code, message, details)
}

fn plain(code: Code, reason: &str, message: impl Into<String>) -> Status {
    status(code, reason, message, ErrorDetails::new())
}

pub fn invalid(field: &str, description: impl Into<String>) -> Status {
    domain(DomainError::invalid(field, description))
}

pub fn not_found(name: &str) -> Status {
    domain(DomainError::NotFound(name.to_owned()))
}

/// A failure of the server itself, never of the request.
pub fn internal(message: impl Into<String>) -> Status {
    Refusal::Internal(message.into()).into_status()
}

pub fn domain(e: DomainError) -> Status {
    let message = e.to_string();
    match e {
        DomainError::InvalidArgument(violations) => {
            let mut details = ErrorDetails::new();
            for v in violations {
                details.add_bad_request_violation(v.field, v.description);
            }
            status(Code::InvalidArgument, "INVALID_ARGUMENT", message, details)
        }
        DomainError::NotFound(_) => plain(Code::NotFound, "RESOURCE_NOT_FOUND", message),
        DomainError::AlreadyExists(_) => {
            plain(Code::AlreadyExists, "RESOURCE_ALREADY_EXISTS", message)
        }
        DomainError::FailedPrecondition(_) => {
            plain(Code::FailedPrecondition, "DATA_INSUFFICIENT", message)
        }
    }
}

pub fn store(e: StoreError) -> Status {
    let failure = |e: &StoreError| {
        tracing::error!(error = %e, "storage failure");
        plain(
            Code::Internal,
            "STORAGE_FAILURE",
            "the database could not complete the request",
        )
    };
    match e {
        StoreError::VersionCompacted { .. } => plain(
            Code::FailedPrecondition,
            "DATASET_VERSION_COMPACTED",
            e.to_string(),
        ),
        StoreError::VersionNotYet { .. } => {
            plain(Code::OutOfRange, "DATASET_VERSION_NOT_YET", e.to_string())
        }
        StoreError::Invalid(why) => invalid("", why),
        StoreError::NotFound(name) => domain(DomainError::NotFound(name)),
        StoreError::AlreadyExists(name) => domain(DomainError::AlreadyExists(name)),
        StoreError::Unavailable(_) => {
            tracing::warn!(error = %e, "the database is unavailable");
            plain(
                Code::Unavailable,
                "STORE_UNAVAILABLE",
                "the database cannot be reached: nothing was written; reads are served from the \
                 last dataset version this server holds. Retry later",
            )
        }
        StoreError::Stale(_) => plain(Code::Aborted, "CONCURRENT_MODIFICATION", e.to_string()),
        StoreError::EtagMismatch { .. } => plain(Code::Aborted, "ETAG_MISMATCH", e.to_string()),
        StoreError::Sqlite(_)
        | StoreError::Postgres(_)
        | StoreError::Corrupt { .. }
        | StoreError::Io { .. }
        | StoreError::SchemaTooNew { .. } => failure(&e),
    }
}

/// The status of a plugin call that failed as a whole.
pub fn host(e: HostError) -> Status {
    let (code, reason) = match &e {
        HostError::UnknownPlugin(_) | HostError::UnknownBuild { .. } => {
            (Code::NotFound, "RESOURCE_NOT_FOUND")
        }
        HostError::BuildRefused { .. } => (Code::FailedPrecondition, "PLUGIN_REFUSED"),
        HostError::Disabled { .. } => (Code::FailedPrecondition, "PLUGIN_DISABLED"),
        HostError::InvalidRequest(_) => (Code::InvalidArgument, "PLUGIN_REQUEST_INVALID"),
        HostError::DeadlineExceeded { .. } => (Code::DeadlineExceeded, "PLUGIN_DEADLINE_EXCEEDED"),
        HostError::Cancelled { .. } => (Code::Cancelled, "PLUGIN_CALL_CANCELLED"),
        HostError::Panicked { .. } => (Code::Internal, "PLUGIN_PANICKED"),
        HostError::WorkerCrashed { .. } => (Code::Internal, "PLUGIN_CRASHED"),
        HostError::SandboxUnavailable { .. } => (Code::Unavailable, "PLUGIN_SANDBOX_UNAVAILABLE"),
        HostError::PluginFailed { .. } => (Code::Internal, "PLUGIN_FAILED"),
        HostError::Overloaded(_) => (Code::ResourceExhausted, "PLUGIN_POOL_EXHAUSTED"),
        HostError::Catalog(_) | HostError::Io { .. } | HostError::Internal(_) => {
            (Code::Internal, "PLUGIN_HOST_FAILURE")
        }
    };
    if code == Code::Internal {
        tracing::error!(error = %e, "plugin call failed");
    } else {
        tracing::warn!(error = %e, "plugin call failed");
    }
    plain(code, reason, e.to_string())
}

/// A short name for the kind of a failed plugin call, for metrics.
pub fn host_failure_kind(e: &HostError) -> &'static str {
    match e {
        HostError::DeadlineExceeded { .. } => "deadline_exceeded",
        HostError::Cancelled { .. } => "cancelled",
        HostError::Panicked { .. } => "panicked",
        HostError::PluginFailed { .. } => "failed",
        HostError::Overloaded(_) => "overloaded",
        HostError::WorkerCrashed { .. } => "crashed",
        HostError::Disabled { .. } => "disabled",
        HostError::UnknownPlugin(_)
        | HostError::UnknownBuild { .. }
        | HostError::BuildRefused { .. }
        | HostError::InvalidRequest(_)
        | HostError::SandboxUnavailable { .. }
        | HostError::Catalog(_)
        | HostError::Io { .. }
        | HostError::Internal(_) => "other",
    }
}

/// The status of one row (one scenario of a batch) that has no score.
pub fn row(plugin: &str, e: &RowError) -> Status {
    match e {
        RowError::Plugin { message } => plain(
            Code::InvalidArgument,
            "PLUGIN_REJECTED_SCENARIO",
            format!("plugin {plugin} could not score this scenario: {message}"),
        ),
        RowError::NotRun => plain(Code::Aborted, "PLUGIN_CALL_STOPPED", e.to_string()),
        RowError::UnknownStatus { .. }
        | RowError::NotFinite { .. }
        | RowError::OutOfRange { .. } => {
            tracing::error!(plugin, error = %e, "plugin output refused");
            plain(
                Code::Internal,
                "PLUGIN_OUTPUT_INVALID",
                format!("plugin {plugin}: {e}"),
            )
        }
    }
}

/// What the server itself refuses or fails at, apart from the domain, the store and the plugins.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// More calls in progress than `--max-concurrent-calls`.
    Overloaded { limit: usize },
    /// More streams of one kind (sweeps) than their own limit.
    TooManyStreams { what: &'static str, limit: usize },
    /// The client's deadline passed.
    ClientDeadline { after: Duration },
    /// The server's cap on one call (or one stream) passed.
    CallTimeLimit { limit: Duration, stream: bool },
    /// A request or reply over `--max-message-bytes` (the codec's own words).
    MessageTooLarge { message: String },
    /// No token, or one the server does not know.
    Unauthenticated { why: String },
    /// A token whose role is too weak for the method.
    RoleTooWeak { why: String },
    /// The named plugin is loaded but disabled (panics, stuck calls).
    PluginDisabled { name: String, reason: String },
    /// The named plugin's file was refused at load.
    PluginRefused { name: String, reason: String },
    /// The plugin host answered fewer rows than it was given.
    PluginResultMissing,
    /// The call asked for at least a dataset version that this replica has not reached within
    /// `--min-version-wait-ms`: it may not answer from an older one.
    ReplicaBehind {
        wanted: u64,
        serving: u64,
        waited: Duration,
    },
    /// A failure of the server itself (a task that did not complete, a reply that does not
    /// serialise).
    Internal(String),
}

impl Refusal {
    pub fn code_and_reason(&self) -> (Code, &'static str) {
        match self {
            Refusal::Overloaded { .. } => (Code::ResourceExhausted, "SERVER_OVERLOADED"),
            Refusal::TooManyStreams { .. } => (Code::ResourceExhausted, "TOO_MANY_STREAMS"),
            Refusal::ClientDeadline { .. } => (Code::DeadlineExceeded, "DEADLINE_EXCEEDED"),
            Refusal::CallTimeLimit { .. } => (Code::DeadlineExceeded, "CALL_TIME_LIMIT"),
            Refusal::MessageTooLarge { .. } => (Code::ResourceExhausted, "MESSAGE_TOO_LARGE"),
            Refusal::Unauthenticated { .. } => (Code::Unauthenticated, "TOKEN_MISSING_OR_INVALID"),
            Refusal::RoleTooWeak { .. } => (Code::PermissionDenied, "ROLE_TOO_WEAK"),
            Refusal::PluginDisabled { .. } => (Code::FailedPrecondition, "PLUGIN_DISABLED"),
            Refusal::PluginRefused { .. } => (Code::FailedPrecondition, "PLUGIN_REFUSED"),
            Refusal::PluginResultMissing => (Code::Internal, "PLUGIN_RESULT_MISSING"),
            Refusal::ReplicaBehind { .. } => (Code::Unavailable, "REPLICA_BEHIND"),
            Refusal::Internal(_) => (Code::Internal, "INTERNAL"),
        }
    }

    fn message(&self) -> String {
        match self {
            Refusal::Overloaded { limit } => format!(
                "the server is at its limit of {limit} calls in progress; retry with backoff"
            ),
            Refusal::TooManyStreams { what, limit } => format!(
                "the server is at its limit of {limit} {what} in progress; retry with backoff"
            ),
            Refusal::ClientDeadline { after } => format!(
                "the call passed the client's deadline ({} ms)",
                after.as_millis()
            ),
            Refusal::CallTimeLimit { limit, stream } => format!(
                "the {} passed the server's limit of {} ms ({})",
                if *stream { "stream" } else { "call" },
                limit.as_millis(),
                if *stream {
                    "--max-stream-ms"
                } else {
                    "--max-call-ms"
                }
            ),
            Refusal::MessageTooLarge { message } => {
                format!("{message} (--max-message-bytes)")
            }
            Refusal::Unauthenticated { why } | Refusal::RoleTooWeak { why } => why.clone(),
            Refusal::PluginDisabled { name, reason } => format!("{name} is disabled: {reason}"),
            Refusal::PluginRefused { name, reason } => format!("{name} was refused: {reason}"),
            Refusal::PluginResultMissing => {
                "the plugin host returned fewer rows than scenarios".to_owned()
            }
            Refusal::ReplicaBehind {
                wanted,
                serving,
                waited,
            } => format!(
                "this server has dataset version {serving}, not yet {wanted} (asked for by \
                 leverage-min-dataset-version), after waiting {} ms; retry, here or on another \
                 server",
                waited.as_millis()
            ),
            Refusal::Internal(message) => message.clone(),
        }
    }

    pub fn into_status(self) -> Status {
        let (code, reason) = self.code_and_reason();
        if code == Code::Internal {
            tracing::error!(refusal = ?self, "internal failure");
        }
        let mut details = ErrorDetails::new();
        if let Refusal::ReplicaBehind { .. } = self {
            // Normally a replica catches up within milliseconds of the write.
            details.set_retry_info(Some(Duration::from_millis(200)));
        }
        status(code, reason, self.message(), details)
    }
}

/// The reason given to a status the transport made without one (tonic's router, codec and
/// timeouts know nothing of `ErrorInfo`).
fn transport_reason(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "RESOURCE_NOT_FOUND",
        Code::AlreadyExists => "RESOURCE_ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "METHOD_NOT_IMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Makes the status in `headers` (a trailers-only reply's headers, or a reply's trailers) keep
/// this module's promises: a message over the size limit is RESOURCE_EXHAUSTED as the gRPC spec
/// says (tonic's codec answers OUT_OF_RANGE), and every non-OK status has an `ErrorInfo`.
/// Returns the code, when there is a status.
pub fn complete_headers(headers: &mut HeaderMap) -> Option<Code> {
    // Every successful reply's trailers pass here: read the code alone before decoding a
    // whole status (message, details).
    if headers.get("grpc-status")?.as_bytes() == b"0" {
        return Some(Code::Ok);
    }
    let found = Status::from_header_map(headers)?;
    let too_large =
        found.code() == Code::OutOfRange && found.message().contains("message length too large");
    let replacement = if too_large {
        Refusal::MessageTooLarge {
            message: found.message().to_owned(),
        }
        .into_status()
    } else if headers.contains_key("grpc-status-details-bin") {
        return Some(found.code());
    } else if found.code() == Code::Internal && found.message().contains("failed to decode") {
        // tonic's codec answers INTERNAL for a request that does not decode; the reason says
        // it is the request.
        plain(
            Code::Internal,
            "MALFORMED_REQUEST",
            found.message().to_owned(),
        )
    } else {
        plain(
            found.code(),
            transport_reason(found.code()),
            found.message().to_owned(),
        )
    };
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        headers.remove(name);
    }
    if replacement.add_header(headers).is_err() {
        // Only a message with bytes a header cannot carry fails here; ours have none.
        headers.insert("grpc-status", http::HeaderValue::from(found.code() as i32));
    }
    Some(replacement.code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &Status) -> String {
        s.get_details_error_info()
            .map(|i| i.reason)
            .unwrap_or_default()
    }

    /// Every variant of every error type, each with the code it must map to. The `variant`
    /// functions below match without a fallback, so a new variant fails to compile there; the
    /// counts make sure each also has a sample here.
    #[test]
    fn every_error_variant_maps_to_its_code_with_an_error_info() {
        let domain_cases = [
            (DomainError::invalid("f", "bad"), Code::InvalidArgument),
            (DomainError::NotFound("x".into()), Code::NotFound),
            (DomainError::AlreadyExists("x".into()), Code::AlreadyExists),
            (
                DomainError::FailedPrecondition("no rate".into()),
                Code::FailedPrecondition,
            ),
        ];
        let store_cases = [
            (StoreError::NotFound("x".into()), Code::NotFound),
            (StoreError::AlreadyExists("x".into()), Code::AlreadyExists),
            (StoreError::Sqlite(rusqlite_error()), Code::Internal),
            (
                StoreError::Corrupt {
                    kind: "k".into(),
                    id: "i".into(),
                    reason: "r".into(),
                },
                Code::Internal,
            ),
            (
                StoreError::Io {
                    path: "/x".into(),
                    source: std::io::Error::other("disk"),
                },
                Code::Internal,
            ),
            (
                StoreError::SchemaTooNew { found: 9, known: 2 },
                Code::Internal,
            ),
            (
                StoreError::VersionCompacted {
                    requested: 1,
                    oldest: 2,
                },
                Code::FailedPrecondition,
            ),
            (
                StoreError::VersionNotYet {
                    requested: 9,
                    newest: 2,
                },
                Code::OutOfRange,
            ),
            (StoreError::Invalid("x".into()), Code::InvalidArgument),
            (StoreError::Postgres("x".into()), Code::Internal),
            (StoreError::Unavailable("x".into()), Code::Unavailable),
            (StoreError::Stale("x".into()), Code::Aborted),
            (
                StoreError::EtagMismatch {
                    name: "holdings/x".into(),
                    given: "\"a\"".into(),
                    current: "\"b\"".into(),
                },
                Code::Aborted,
            ),
        ];
        let id = || "p".to_owned();
        let host_cases = [
            (HostError::UnknownPlugin(id()), Code::NotFound),
            (
                HostError::Disabled {
                    id: id(),
                    reason: "r".into(),
                },
                Code::FailedPrecondition,
            ),
            (HostError::InvalidRequest("r".into()), Code::InvalidArgument),
            (
                HostError::DeadlineExceeded {
                    id: id(),
                    deadline: Duration::from_secs(1),
                },
                Code::DeadlineExceeded,
            ),
            (HostError::Cancelled { id: id() }, Code::Cancelled),
            (
                HostError::Panicked {
                    id: id(),
                    message: "m".into(),
                    panics: 1,
                    max_panics: 3,
                    disabled: false,
                },
                Code::Internal,
            ),
            (
                HostError::WorkerCrashed {
                    id: id(),
                    detail: "d".into(),
                    failures: 1,
                    max_failures: 3,
                    disabled: false,
                },
                Code::Internal,
            ),
            (
                HostError::SandboxUnavailable {
                    id: id(),
                    detail: "d".into(),
                },
                Code::Unavailable,
            ),
            (
                HostError::PluginFailed {
                    id: id(),
                    status: 3,
                    message: "m".into(),
                },
                Code::Internal,
            ),
            (HostError::Overloaded(8), Code::ResourceExhausted),
            (HostError::Catalog("c".into()), Code::Internal),
            (
                HostError::Io {
                    path: "/x".into(),
                    source: std::io::Error::other("disk"),
                },
                Code::Internal,
            ),
            (HostError::Internal("bug".into()), Code::Internal),
            (
                HostError::UnknownBuild {
                    id: id(),
                    build: "0123456789abcdef".into(),
                },
                Code::NotFound,
            ),
            (
                HostError::BuildRefused {
                    id: id(),
                    build: "0123456789abcdef".into(),
                    reason: Box::new(leverage_plugin_host::RefuseReason::ArchiveDamaged {
                        problem: "p".into(),
                    }),
                },
                Code::FailedPrecondition,
            ),
        ];
        let row_cases = [
            (
                RowError::Plugin {
                    message: "m".into(),
                },
                Code::InvalidArgument,
            ),
            (RowError::NotRun, Code::Aborted),
            (RowError::UnknownStatus { status: 7 }, Code::Internal),
            (
                RowError::NotFinite {
                    name: "score".into(),
                    value: f64::NAN,
                },
                Code::Internal,
            ),
            (
                RowError::OutOfRange {
                    name: "score".into(),
                    value: 2.0,
                    min: 0.0,
                    max: 1.0,
                },
                Code::Internal,
            ),
        ];
        let refusal_cases = [
            (Refusal::Overloaded { limit: 2 }, Code::ResourceExhausted),
            (
                Refusal::TooManyStreams {
                    what: "sweeps",
                    limit: 2,
                },
                Code::ResourceExhausted,
            ),
            (
                Refusal::ClientDeadline {
                    after: Duration::from_secs(1),
                },
                Code::DeadlineExceeded,
            ),
            (
                Refusal::CallTimeLimit {
                    limit: Duration::from_secs(1),
                    stream: true,
                },
                Code::DeadlineExceeded,
            ),
            (
                Refusal::MessageTooLarge {
                    message: "m".into(),
                },
                Code::ResourceExhausted,
            ),
            (
                Refusal::Unauthenticated { why: "w".into() },
                Code::Unauthenticated,
            ),
            (
                Refusal::RoleTooWeak { why: "w".into() },
                Code::PermissionDenied,
            ),
            (
                Refusal::PluginDisabled {
                    name: "n".into(),
                    reason: "r".into(),
                },
                Code::FailedPrecondition,
            ),
            (
                Refusal::PluginRefused {
                    name: "n".into(),
                    reason: "r".into(),
                },
                Code::FailedPrecondition,
            ),
            (Refusal::PluginResultMissing, Code::Internal),
            (Refusal::Internal("bug".into()), Code::Internal),
            (
                Refusal::ReplicaBehind {
                    wanted: 9,
                    serving: 7,
                    waited: Duration::from_secs(2),
                },
                Code::Unavailable,
            ),
        ];

        let mut statuses = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (e, code) in domain_cases {
            seen.insert(("domain", domain_variant(&e)));
            statuses.push((domain(e), code));
        }
        for (e, code) in store_cases {
            seen.insert(("store", store_variant(&e)));
            statuses.push((store(e), code));
        }
        for (e, code) in host_cases {
            seen.insert(("host", host_variant(&e)));
            assert!(!host_failure_kind(&e).is_empty());
            statuses.push((host(e), code));
        }
        for (e, code) in row_cases {
            seen.insert(("row", row_variant(&e)));
            statuses.push((row("p", &e), code));
        }
        for (e, code) in refusal_cases {
            seen.insert(("refusal", refusal_variant(&e)));
            assert_eq!(e.code_and_reason().0, code);
            statuses.push((e.into_status(), code));
        }
        let count = |kind| seen.iter().filter(|(k, _)| *k == kind).count();
        assert_eq!(count("domain"), 4, "a sample of every DomainError variant");
        assert_eq!(count("store"), 13, "a sample of every StoreError variant");
        assert_eq!(count("host"), 15, "a sample of every HostError variant");
        assert_eq!(count("row"), 5, "a sample of every RowError variant");
        assert_eq!(count("refusal"), 12, "a sample of every Refusal variant");
        for (s, code) in statuses {
            assert_eq!(s.code(), code, "{s:?}");
            let reason = reason(&s);
            assert!(
                !reason.is_empty() && reason.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "an UPPER_SNAKE ErrorInfo reason: {s:?}"
            );
        }
    }

    fn rusqlite_error() -> rusqlite::Error {
        rusqlite::Error::QueryReturnedNoRows
    }

    fn domain_variant(e: &DomainError) -> usize {
        match e {
            DomainError::InvalidArgument(_) => 0,
            DomainError::NotFound(_) => 1,
            DomainError::AlreadyExists(_) => 2,
            DomainError::FailedPrecondition(_) => 3,
        }
    }

    fn store_variant(e: &StoreError) -> usize {
        match e {
            StoreError::NotFound(_) => 0,
            StoreError::AlreadyExists(_) => 1,
            StoreError::Sqlite(_) => 2,
            StoreError::Corrupt { .. } => 3,
            StoreError::Io { .. } => 4,
            StoreError::SchemaTooNew { .. } => 5,
            StoreError::VersionCompacted { .. } => 6,
            StoreError::VersionNotYet { .. } => 7,
            StoreError::Invalid(_) => 8,
            StoreError::Postgres(_) => 9,
            StoreError::Unavailable(_) => 10,
            StoreError::Stale(_) => 11,
            StoreError::EtagMismatch { .. } => 12,
        }
    }

    fn host_variant(e: &HostError) -> usize {
        match e {
            HostError::UnknownPlugin(_) => 0,
            HostError::Disabled { .. } => 1,
            HostError::InvalidRequest(_) => 2,
            HostError::DeadlineExceeded { .. } => 3,
            HostError::Cancelled { .. } => 4,
            HostError::Panicked { .. } => 5,
            HostError::WorkerCrashed { .. } => 6,
            HostError::SandboxUnavailable { .. } => 7,
            HostError::PluginFailed { .. } => 8,
            HostError::Overloaded(_) => 9,
            HostError::Catalog(_) => 10,
            HostError::Io { .. } => 11,
            HostError::Internal(_) => 12,
            HostError::UnknownBuild { .. } => 13,
            HostError::BuildRefused { .. } => 14,
        }
    }

    fn row_variant(e: &RowError) -> usize {
        match e {
            RowError::Plugin { .. } => 0,
            RowError::NotRun => 1,
            RowError::UnknownStatus { .. } => 2,
            RowError::NotFinite { .. } => 3,
            RowError::OutOfRange { .. } => 4,
        }
    }

    fn refusal_variant(e: &Refusal) -> usize {
        match e {
            Refusal::Overloaded { .. } => 0,
            Refusal::TooManyStreams { .. } => 1,
            Refusal::ClientDeadline { .. } => 2,
            Refusal::CallTimeLimit { .. } => 3,
            Refusal::MessageTooLarge { .. } => 4,
            Refusal::Unauthenticated { .. } => 5,
            Refusal::RoleTooWeak { .. } => 6,
            Refusal::PluginDisabled { .. } => 7,
            Refusal::PluginRefused { .. } => 8,
            Refusal::PluginResultMissing => 9,
            Refusal::Internal(_) => 10,
            Refusal::ReplicaBehind { .. } => 11,
        }
    }

    #[test]
    fn transport_statuses_get_an_error_info_and_oversized_messages_resource_exhausted() {
        let mut too_large = HeaderMap::new();
        Status::out_of_range(
            "Error, decoded message length too large: found 10000 bytes, the limit is: 4096 bytes",
        )
        .add_header(&mut too_large)
        .unwrap_or_else(|_| panic!("headers"));
        assert_eq!(
            complete_headers(&mut too_large),
            Some(Code::ResourceExhausted)
        );
        let s = Status::from_header_map(&too_large).unwrap_or_else(|| panic!("a status"));
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(reason(&s), "MESSAGE_TOO_LARGE");

        let mut unimplemented = HeaderMap::new();
        Status::unimplemented("")
            .add_header(&mut unimplemented)
            .unwrap_or_else(|_| panic!("headers"));
        complete_headers(&mut unimplemented);
        let s = Status::from_header_map(&unimplemented).unwrap_or_else(|| panic!("a status"));
        assert_eq!(s.code(), Code::Unimplemented);
        assert_eq!(reason(&s), "METHOD_NOT_IMPLEMENTED");

        // Our own statuses and successes pass unchanged.
        let mut ours = HeaderMap::new();
        not_found("holdings/x")
            .add_header(&mut ours)
            .unwrap_or_else(|_| panic!("headers"));
        let before = ours.clone();
        assert_eq!(complete_headers(&mut ours), Some(Code::NotFound));
        assert_eq!(ours, before);
        let mut ok = HeaderMap::new();
        ok.insert("grpc-status", http::HeaderValue::from_static("0"));
        assert_eq!(complete_headers(&mut ok), Some(Code::Ok));
        assert_eq!(complete_headers(&mut HeaderMap::new()), None);
    }
}
