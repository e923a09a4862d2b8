//! Conversions between proto messages and domain values shared by every service. Proto types
//! stop here: handlers turn requests into domain input once, naming each bad field.

use leverage_core::model::{self, Bound, Confidence, Scale};
use leverage_core::{Currency, Date, Jurisdiction, Violations};
use leverage_proto::leverage::v1 as pb;

/// A request date: unset (or all zero) means `default`; otherwise it must exist.
pub fn date_in(field: &str, date: Option<&pb::Date>, default: Date, v: &mut Violations) -> Date {
    match date {
        None => default,
        Some(d) if d.year == 0 && d.month == 0 && d.day == 0 => default,
        Some(d) => day_in(field, d, v).unwrap_or(default),
    }
}

/// A request date that must name a day that exists; `None` (and `field` named) otherwise.
pub fn day_in(field: &str, d: &pb::Date, v: &mut Violations) -> Option<Date> {
    let parsed = u32::try_from(d.month)
        .ok()
        .zip(u32::try_from(d.day).ok())
        .ok_or_else(|| "month and day must be positive".to_owned())
        .and_then(|(m, day)| Date::new(d.year, m, day).map_err(|e| e.to_string()));
    v.check(field, parsed)
}

pub fn date_out(d: Date) -> pb::Date {
    pb::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// Whole units and nanos of an amount, rounded to the nano (amounts here are far below the
/// 2^53 limit of exact f64 integers at that precision's scale of interest).
pub fn money(amount: f64, currency: Currency) -> pb::Money {
    let units = amount.trunc();
    let nanos = ((amount - units) * 1e9).round();
    let (units, nanos) = if nanos.abs() >= 1e9 {
        (units + nanos.signum(), 0.0)
    } else {
        (units, nanos)
    };
    pb::Money {
        currency_code: currency.to_string(),
        units: units as i64,
        nanos: nanos as i32,
    }
}

/// Reads a request amount, checking the currency and the sign rule.
pub fn money_in(field: &str, m: Option<&pb::Money>, v: &mut Violations) -> Option<(f64, Currency)> {
    let Some(m) = m else {
        v.add(field, "is required");
        return None;
    };
    let currency = v.check(
        &format!("{field}.currency_code"),
        Currency::parse(&m.currency_code),
    );
    let mut ok = true;
    if !(-999_999_999..=999_999_999).contains(&m.nanos) {
        v.add(
            format!("{field}.nanos"),
            "must be between -999999999 and 999999999",
        );
        ok = false;
    } else if (m.units > 0 && m.nanos < 0) || (m.units < 0 && m.nanos > 0) {
        v.add(format!("{field}.nanos"), "must have the sign of units");
        ok = false;
    }
    let amount = m.units as f64 + f64::from(m.nanos) / 1e9;
    if amount < 0.0 {
        v.add(format!("{field}.units"), "an amount cannot be negative");
        ok = false;
    }
    currency.filter(|_| ok).map(|c| (amount, c))
}

pub fn jurisdiction_in(field: &str, code: &str, v: &mut Violations) -> Option<Jurisdiction> {
    v.check(field, Jurisdiction::parse(code))
}

pub fn source(s: &model::Source) -> pb::Source {
    pb::Source {
        publisher: s.publisher.to_string(),
        title: s.title.as_deref().unwrap_or_default().to_owned(),
        url: s.url.to_string(),
        published: s.published.map(date_out),
        retrieved: s.retrieved.map(date_out),
        import_id: s.import_id.as_deref().unwrap_or_default().to_owned(),
    }
}

/// A source from a request. Its dates are optional; a date that is set must exist (named
/// under `field`). The import id is the store's to set, so a request's is ignored.
pub fn source_in(field: &str, s: Option<&pb::Source>, v: &mut Violations) -> model::Source {
    let s = s.cloned().unwrap_or_default();
    let optional_date = |name: &str, d: Option<&pb::Date>, v: &mut Violations| {
        d.filter(|d| (d.year, d.month, d.day) != (0, 0, 0))
            .map(|d| date_in(&format!("{field}.{name}"), Some(d), Date::today(), v))
    };
    model::Source {
        publisher: s.publisher.into(),
        title: Some(s.title).filter(|t| !t.is_empty()).map(Into::into),
        url: s.url.into(),
        published: optional_date("published", s.published.as_ref(), v),
        retrieved: optional_date("retrieved", s.retrieved.as_ref(), v),
        import_id: None,
    }
}

pub fn confidence(c: Confidence) -> i32 {
    (match c {
        Confidence::Low => pb::Confidence::Low,
        Confidence::Medium => pb::Confidence::Medium,
        Confidence::High => pb::Confidence::High,
    }) as i32
}

pub fn confidence_in(field: &str, value: i32, v: &mut Violations) -> Confidence {
    match pb::Confidence::try_from(value) {
        Ok(pb::Confidence::Low) => Confidence::Low,
        Ok(pb::Confidence::Medium) => Confidence::Medium,
        Ok(pb::Confidence::High) => Confidence::High,
        _ => {
            v.add(
                field,
                "must be CONFIDENCE_LOW, CONFIDENCE_MEDIUM or CONFIDENCE_HIGH",
            );
            Confidence::Low
        }
    }
}

pub fn bound(b: Bound) -> i32 {
    (match b {
        Bound::Exact => pb::Bound::Exact,
        Bound::Approximately => pb::Bound::Approximately,
        Bound::AtLeast => pb::Bound::AtLeast,
        Bound::AtMost => pb::Bound::AtMost,
    }) as i32
}

pub fn bound_in(field: &str, value: i32, v: &mut Violations) -> Bound {
    match pb::Bound::try_from(value) {
        Ok(pb::Bound::Unspecified | pb::Bound::Exact) => Bound::Exact,
        Ok(pb::Bound::Approximately) => Bound::Approximately,
        Ok(pb::Bound::AtLeast) => Bound::AtLeast,
        Ok(pb::Bound::AtMost) => Bound::AtMost,
        Err(_) => {
            v.add(field, format!("{value} is not a Bound value"));
            Bound::Exact
        }
    }
}

/// A figure as published (value × scale) in whole units.
pub fn scaled(value: f64, scale: Scale) -> f64 {
    value * scale.factor()
}

pub fn timestamp(seconds: i64) -> Option<prost_types::Timestamp> {
    (seconds > 0).then_some(prost_types::Timestamp { seconds, nanos: 0 })
}

pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A time as RFC 3339 in UTC, to the millisecond: `2026-03-01T09:30:00.250Z`.
pub fn rfc3339_utc(time: std::time::SystemTime) -> String {
    let ms = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let (seconds, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let day = Date::from_days_since_epoch(seconds.div_euclid(86_400))
        .map_or_else(|_| "0000-01-01".to_owned(), |d| d.to_string());
    let s = seconds.rem_euclid(86_400);
    format!(
        "{day}T{:02}:{:02}:{:02}.{millis:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}
