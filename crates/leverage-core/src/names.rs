//! Resource names (AIP-122): `holdings/{id}`, `instruments/{id}`, `plugins/{id}`.

/// A resource id: 1 to 63 characters of lower-case letters, digits and hyphens, starting
/// with a letter (AIP-122's recommendation).
pub fn is_valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// The id in `{collection}/{id}`, if the name has that form and a valid id.
pub fn parse_name<'a>(collection: &str, name: &'a str) -> Option<&'a str> {
    let id = name.strip_prefix(collection)?.strip_prefix('/')?;
    is_valid_id(id).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_a_collection_and_a_slug() {
        assert_eq!(
            parse_name("holdings", "holdings/euroclear-bank"),
            Some("euroclear-bank")
        );
        assert_eq!(parse_name("holdings", "instruments/safe"), None);
        assert_eq!(parse_name("holdings", "holdings/Euroclear"), None);
        assert_eq!(parse_name("holdings", "holdings/"), None);
        assert_eq!(parse_name("holdings", "holdings/a/b"), None);
    }
}
