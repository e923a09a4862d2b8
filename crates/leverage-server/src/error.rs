//! The one mapping from domain, store and plugin errors to gRPC statuses (AIP-193): every
//! error carries an `ErrorInfo` with an UPPER_SNAKE reason, and invalid arguments a
//! `BadRequest` naming each bad field.

use std::collections::HashMap;

use leverage_core::DomainError;
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

pub fn invalid(field: &str, description: impl Into<String>) -> Status {
    domain(DomainError::invalid(field, description))
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
        DomainError::NotFound(_) => status(
            Code::NotFound,
            "RESOURCE_NOT_FOUND",
            message,
            ErrorDetails::new(),
        ),
        DomainError::AlreadyExists(_) => status(
            Code::AlreadyExists,
            "RESOURCE_ALREADY_EXISTS",
            message,
            ErrorDetails::new(),
        ),
        DomainError::FailedPrecondition(_) => status(
            Code::FailedPrecondition,
            "DATA_INSUFFICIENT",
            message,
            ErrorDetails::new(),
        ),
    }
}

/// A failure of the server itself, never of the request.
pub fn internal(message: impl Into<String>) -> Status {
    status(Code::Internal, "INTERNAL", message, ErrorDetails::new())
}

pub fn store(e: StoreError) -> Status {
    match e {
        StoreError::VersionCompacted { .. } => status(
            Code::FailedPrecondition,
            "DATASET_VERSION_COMPACTED",
            e.to_string(),
            ErrorDetails::new(),
        ),
        StoreError::VersionNotYet { .. } => status(
            Code::OutOfRange,
            "DATASET_VERSION_NOT_YET",
            e.to_string(),
            ErrorDetails::new(),
        ),
        StoreError::Invalid(why) => invalid("", why),
        StoreError::NotFound(name) => domain(DomainError::NotFound(name)),
        StoreError::AlreadyExists(name) => domain(DomainError::AlreadyExists(name)),
        other => {
            tracing::error!(error = %other, "storage failure");
            status(
                Code::Internal,
                "STORAGE_FAILURE",
                "the database could not complete the request",
                ErrorDetails::new(),
            )
        }
    }
}

pub fn not_found(name: &str) -> Status {
    domain(DomainError::NotFound(name.to_owned()))
}
