//! The domain of leverage: where Russia's frozen assets sit, what it would take legally to use
//! them, how Europe funds its defence, and how policy scenarios are described. Plain Rust: no
//! gRPC, no SQL.

pub mod codes;
pub mod dataset;
pub mod date;
pub mod model;
pub mod names;

pub use codes::{Currency, Jurisdiction};
pub use dataset::Dataset;
pub use date::Date;
pub mod amounts;
pub mod assets;
pub mod error;
pub mod files;
pub mod fx;
pub mod paging;
pub mod record;
pub mod snapshot;
pub mod text;

pub use error::{DomainError, FieldViolation, Violations};
pub use snapshot::Snapshot;
pub mod funding;
pub mod legal;
pub mod legal2;
pub mod scenario;
pub mod sweep;
