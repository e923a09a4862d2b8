//! Shared text: the strings that many records repeat (a source's publisher, title and address,
//! a note, an author) are held once. Deserialising goes through a per-thread set of the texts
//! seen, so that a million observations read from a store that cite one source share its
//! strings instead of holding a million copies of each (BENCHMARKS.md, part 6).

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// Text that many records repeat, shared.
pub type Text = Arc<str>;

/// Past this many distinct texts a thread's set starts again, so that it never grows without
/// bound; texts already shared stay shared.
const MAX_REMEMBERED: usize = 1 << 16;

thread_local! {
    static SEEN: RefCell<HashSet<Text>> = RefCell::new(HashSet::new());
}

/// The shared copy of `s`: one already seen on this thread, or a new one remembered.
pub fn share(s: &str) -> Text {
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if let Some(t) = seen.get(s) {
            return Arc::clone(t);
        }
        if seen.len() >= MAX_REMEMBERED {
            seen.clear();
        }
        let t: Text = Arc::from(s);
        seen.insert(Arc::clone(&t));
        t
    })
}

struct SharedText;

impl<'de> Visitor<'de> for SharedText {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(share(v))
    }
}

/// `deserialize_with` for a [`Text`] field.
pub fn shared<'de, D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
    d.deserialize_str(SharedText)
}

struct SharedOptionalText;

impl<'de> Visitor<'de> for SharedOptionalText {
    type Value = Option<Text>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or nothing")
    }

    fn visit_none<E: de::Error>(self) -> Result<Option<Text>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Text>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Text>, D::Error> {
        shared(d).map(Some)
    }
}

/// `deserialize_with` for an `Option<Text>` field.
pub fn shared_optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Text>, D::Error> {
    d.deserialize_option(SharedOptionalText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_read_on_one_thread_are_one_allocation() {
        let a = share("Euroclear (FY2025 release)");
        let b = share(&String::from("Euroclear (FY2025 release)"));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &share("another publisher")));
    }
}
