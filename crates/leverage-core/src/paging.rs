//! Pagination (AIP-158) and list filters (a small subset of AIP-160).
//!
//! A page token carries the offset of the next page and a fingerprint of the query it belongs
//! to, sealed with a checksum: a token that was altered, or that is replayed with another
//! filter or order, is refused instead of silently answering a different question.

use crate::error::DomainError;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 1000;

/// FNV-1a, 64 bits: stable across builds and platforms, unlike `DefaultHasher`.
pub fn fingerprint(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.as_bytes().iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn seal(offset: u64, query: u64) -> u64 {
    fingerprint(&["leverage.page.v1", &offset.to_string(), &query.to_string()])
}

/// A validated page request: where to start and how many to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: usize,
    pub size: usize,
    query: u64,
}

impl PageRequest {
    /// Checks `page_size` (0 means the default; above the maximum is capped, per AIP-158) and
    /// `page_token` (empty means the first page) against the query's fingerprint.
    pub fn parse(page_size: i32, page_token: &str, query: u64) -> Result<Self, DomainError> {
        let size = match page_size {
            n if n < 0 => return Err(DomainError::invalid("page_size", "must not be negative")),
            0 => DEFAULT_PAGE_SIZE,
            n => (n as usize).min(MAX_PAGE_SIZE),
        };
        let offset = if page_token.is_empty() {
            0
        } else {
            decode(page_token, query)?
        };
        Ok(Self {
            offset,
            size,
            query,
        })
    }

    /// A token for the next page that starts at `position`, for lists paged by a key of their
    /// own (such as a version number) rather than by offset.
    pub fn token_for(&self, position: u64) -> String {
        encode(position, self.query)
    }

    /// The slice of `items` this page covers and the token of the next page ("" at the end).
    pub fn apply<T>(&self, items: Vec<T>) -> (Vec<T>, String) {
        let total = items.len();
        let end = self.offset.saturating_add(self.size).min(total);
        let next = if end < total {
            encode(end as u64, self.query)
        } else {
            String::new()
        };
        let page = items
            .into_iter()
            .skip(self.offset)
            .take(end.saturating_sub(self.offset))
            .collect();
        (page, next)
    }
}

fn encode(offset: u64, query: u64) -> String {
    format!("{offset:x}.{query:016x}.{:016x}", seal(offset, query))
}

fn decode(token: &str, query: u64) -> Result<usize, DomainError> {
    let bad = || {
        DomainError::invalid(
            "page_token",
            "is not a token this server issued for this query",
        )
    };
    let mut parts = token.split('.');
    let (Some(o), Some(q), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let offset = u64::from_str_radix(o, 16).map_err(|_| bad())?;
    let token_query = u64::from_str_radix(q, 16).map_err(|_| bad())?;
    let sealed = u64::from_str_radix(s, 16).map_err(|_| bad())?;
    if sealed != seal(offset, token_query) {
        return Err(bad());
    }
    // `from_str_radix` also takes upper case, a `+` and leading zeros: accept only the exact
    // text this server issues, so that one page has one token.
    if token != encode(offset, token_query) {
        return Err(bad());
    }
    if token_query != query {
        return Err(DomainError::invalid(
            "page_token",
            "belongs to a request with another filter, order or date; start again without a token",
        ));
    }
    usize::try_from(offset).map_err(|_| bad())
}

/// One `field = value` term of a filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterTerm {
    pub field: String,
    pub value: String,
}

/// Parses `a = X AND b = "y z"`: conjunctions of equalities, values bare or double-quoted.
/// Fields must be among `allowed`; a field may appear once.
pub fn parse_filter(filter: &str, allowed: &[&str]) -> Result<Vec<FilterTerm>, DomainError> {
    let bad = |why: String| DomainError::invalid("filter", why);
    let mut terms: Vec<FilterTerm> = Vec::new();
    let mut rest = filter.trim();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or_else(|| bad(format!("expected `field = value` at {rest:?}")))?;
        let field = rest[..eq].trim();
        if !allowed.contains(&field) {
            return Err(bad(format!(
                "unknown field {field:?}; filterable fields: {}",
                allowed.join(", ")
            )));
        }
        if terms.iter().any(|t| t.field == field) {
            return Err(bad(format!("field {field:?} appears twice")));
        }
        let after = rest[eq + 1..].trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            let close = quoted
                .find('"')
                .ok_or_else(|| bad("unterminated quoted value".into()))?;
            (&quoted[..close], &quoted[close + 1..])
        } else {
            let end = after.find(char::is_whitespace).unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        if value.is_empty() {
            return Err(bad(format!("field {field:?} has an empty value")));
        }
        terms.push(FilterTerm {
            field: field.to_owned(),
            value: value.to_owned(),
        });
        rest = remainder.trim_start();
        if !rest.is_empty() {
            rest = rest
                .strip_prefix("AND")
                .filter(|r| r.starts_with(char::is_whitespace))
                .ok_or_else(|| bad(format!("expected AND at {rest:?}")))?
                .trim_start();
            if rest.is_empty() {
                return Err(bad("filter ends with AND".into()));
            }
        }
    }
    Ok(terms)
}

/// One page of `items` (already filtered and ordered) for a request identified by `query`:
/// the page, the next page's token ("" at the end) and the total count.
pub fn paginate<T>(
    items: Vec<T>,
    page_size: i32,
    page_token: &str,
    query: &[&str],
) -> Result<(Vec<T>, String, usize), DomainError> {
    let page = PageRequest::parse(page_size, page_token, fingerprint(query))?;
    let total = items.len();
    let (items, next) = page.apply(items);
    Ok((items, next, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_everything_once() {
        let q = fingerprint(&["x"]);
        let mut token = String::new();
        let mut seen = Vec::new();
        loop {
            let page = PageRequest::parse(2, &token, q).unwrap();
            let (items, next) = page.apply((0..5).collect::<Vec<_>>());
            seen.extend(items);
            if next.is_empty() {
                break;
            }
            token = next;
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn forged_or_foreign_tokens_are_refused() {
        let q = fingerprint(&["x"]);
        let (_, next) = PageRequest::parse(2, "", q).unwrap().apply(vec![1, 2, 3]);
        let forged = next.replacen('2', "3", 1);
        assert!(PageRequest::parse(2, &forged, q).is_err());
        assert!(PageRequest::parse(2, "garbage", q).is_err());
        assert!(PageRequest::parse(2, &next, fingerprint(&["y"])).is_err());
        assert!(PageRequest::parse(-1, "", q).is_err());
    }

    #[test]
    fn filters_are_conjunctions_of_equalities() {
        let t = parse_filter(
            r#"kind = LOCATED AND custodian = "Euroclear Bank""#,
            &["kind", "custodian"],
        )
        .unwrap();
        assert_eq!(t[1].value, "Euroclear Bank");
        assert!(parse_filter("kind = LOCATED OR x = y", &["kind"]).is_err());
        assert!(parse_filter("colour = red", &["kind"]).is_err());
        assert!(parse_filter("kind = A AND kind = B", &["kind"]).is_err());
        assert!(parse_filter("kind = LOCATED AND", &["kind"]).is_err());
        assert!(parse_filter("", &["kind"]).unwrap().is_empty());
    }
}
