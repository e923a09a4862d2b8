//! Domain errors. The server maps each variant to one gRPC status, in one place.

use std::fmt;

/// One bad field of a request, named by its path in the request (`observation.amount.units`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The request is malformed; every bad field is named.
    #[error("invalid argument: {}", DisplayViolations(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// A named resource does not exist (the resource name is given).
    #[error("{0} not found")]
    NotFound(String),
    /// A resource with that name exists already.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The request is well formed but cannot be answered with the data in force, e.g. no
    /// exchange rate connects two currencies.
    #[error("{0}")]
    FailedPrecondition(String),
}

struct DisplayViolations<'a>(&'a [FieldViolation]);

impl fmt::Display for DisplayViolations<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", v.field, v.description)?;
        }
        Ok(())
    }
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        DomainError::InvalidArgument(vec![FieldViolation {
            field: field.into(),
            description: description.into(),
        }])
    }
}

/// Collects every bad field of a request so that the client learns all of them at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records the error of `result` under `field` and returns its value, if any.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds the violations of `error` whose fields are not named yet; other errors are
    /// returned as they are.
    pub fn merge(&mut self, error: DomainError) -> Result<(), DomainError> {
        match error {
            DomainError::InvalidArgument(more) => {
                for f in more {
                    if !self.0.iter().any(|v| v.field == f.field) {
                        self.0.push(f);
                    }
                }
                Ok(())
            }
            other => Err(other),
        }
    }

    /// `Ok(value)` when nothing was recorded, else the violations as one error.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, DomainError> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(DomainError::InvalidArgument(self.0))
        }
    }

    pub fn into_result(self) -> Result<(), DomainError> {
        self.finish(|| ())
    }
}
