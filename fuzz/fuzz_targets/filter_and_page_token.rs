//! Filters, orders and page tokens: arbitrary text never panics; a filter that parses prints
//! and parses back to the same terms; a page token that decodes is one the server issued.
#![no_main]

use arbitrary::Arbitrary;
use leverage_core::assets::{HoldingFilter, HoldingOrder};
use leverage_core::paging::{self, FilterTerm, MAX_PAGE_SIZE, PageRequest};
use leverage_fuzz::{issued_token, same_numbers, skip_known};
use libfuzzer_sys::fuzz_target;

const HOLDING_FIELDS: [&str; 5] = [
    "kind",
    "owner_kind",
    "jurisdiction",
    "custodian",
    "instrument",
];

/// How to alter a token the server issued before handing it back.
#[derive(Arbitrary, Debug)]
enum Tamper {
    None,
    Replace { at: u16, byte: u8 },
    Insert { at: u16, byte: u8 },
    Remove { at: u16 },
    FlipCase { at: u16 },
    Truncate { at: u16 },
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    filter: &'a str,
    allowed: Vec<&'a str>,
    order_by: &'a str,
    page_size: i32,
    token: &'a str,
    query: Vec<&'a str>,
    other_query: Vec<&'a str>,
    items: u16,
    tamper: Tamper,
}

/// Prints terms so that `parse_filter` reads them back: a value that holds a `"` can only have
/// been bare (quoted values end at the first `"`), any other value is quoted.
fn print(terms: &[FilterTerm]) -> String {
    terms
        .iter()
        .map(|t| {
            if t.value.contains('"') {
                format!("{} = {}", t.field, t.value)
            } else {
                format!("{} = \"{}\"", t.field, t.value)
            }
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

fn check_filter(filter: &str, allowed: &[&str]) {
    let Ok(terms) = paging::parse_filter(filter, allowed) else {
        return;
    };
    for (i, t) in terms.iter().enumerate() {
        assert!(allowed.contains(&t.field.as_str()), "{t:?} not allowed");
        assert!(!t.value.is_empty(), "empty value accepted: {filter:?}");
        assert!(
            terms[..i].iter().all(|u| u.field != t.field),
            "field twice: {filter:?}"
        );
    }
    let printed = print(&terms);
    let again = paging::parse_filter(&printed, allowed)
        .unwrap_or_else(|e| panic!("{filter:?} printed as {printed:?} does not parse: {e}"));
    assert_eq!(again, terms, "{filter:?} printed as {printed:?}");
}

fn check_token(tokens_in: &Input<'_>) {
    let query = paging::fingerprint(&tokens_in.query);
    // The token as sent: any text.
    if let Ok(page) = PageRequest::parse(tokens_in.page_size, tokens_in.token, query) {
        assert!(page.size >= 1 && page.size <= MAX_PAGE_SIZE);
        if !tokens_in.token.is_empty() {
            let issued = issued_token(page.offset as u64, query);
            // F1: upper-case digits, a leading `+` or zeros spell the same numbers.
            if !(skip_known("F1") && same_numbers(tokens_in.token, &issued)) {
                assert_eq!(
                    tokens_in.token, issued,
                    "a token the server never issued was accepted"
                );
            }
        }
    }

    // A token really issued by the server, then perhaps tampered with.
    let size = i32::from(tokens_in.items % 7) + 1;
    let items: Vec<u16> = (0..tokens_in.items % 300).collect();
    let Ok(first) = PageRequest::parse(size, "", query) else {
        panic!("a positive page size was refused");
    };
    let (_, issued) = first.apply(items.clone());
    if issued.is_empty() {
        return;
    }
    assert_eq!(
        issued,
        issued_token(size as u64, query),
        "oracle out of date"
    );
    let mut bytes = issued.clone().into_bytes();
    let at = |i: u16| usize::from(i) % bytes.len().max(1);
    match tokens_in.tamper {
        Tamper::None => {}
        Tamper::Replace { at: i, byte } => {
            let i = at(i);
            bytes[i] = byte;
        }
        Tamper::Insert { at: i, byte } => {
            let i = at(i);
            bytes.insert(i, byte);
        }
        Tamper::Remove { at: i } => {
            let i = at(i);
            bytes.remove(i);
        }
        Tamper::FlipCase { at: i } => {
            let i = at(i);
            bytes[i] = if bytes[i].is_ascii_lowercase() {
                bytes[i].to_ascii_uppercase()
            } else {
                bytes[i].to_ascii_lowercase()
            };
        }
        Tamper::Truncate { at: i } => {
            let i = at(i);
            bytes.truncate(i);
        }
    }
    let Ok(tampered) = String::from_utf8(bytes) else {
        return;
    };
    let result = PageRequest::parse(size, &tampered, query);
    if tampered == issued {
        let page = result.expect("an issued token is accepted");
        assert_eq!(page.offset, size as usize);
    } else if !tampered.is_empty() && !(skip_known("F1") && same_numbers(&tampered, &issued)) {
        assert!(
            result.is_err(),
            "the altered token {tampered:?} (issued {issued:?}) was accepted: {result:?}"
        );
    }
    // Replayed with another query: refused.
    let other = paging::fingerprint(&tokens_in.other_query);
    if other != query {
        assert!(PageRequest::parse(size, &issued, other).is_err());
    }
}

fuzz_target!(|input: Input<'_>| {
    check_filter(input.filter, &input.allowed);
    check_filter(input.filter, &HOLDING_FIELDS);
    if HoldingFilter::parse(input.filter).is_ok() {
        assert!(paging::parse_filter(input.filter, &HOLDING_FIELDS).is_ok());
    }
    let _ = HoldingOrder::parse(input.order_by);
    check_token(&input);
});
