//! Calendar dates without time zones: every figure is "as of" a day.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A proleptic Gregorian calendar date. Ordering is chronological.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("month {0} is not between 1 and 12")]
    Month(u32),
    #[error("day {day} does not exist in {year:04}-{month:02}")]
    Day { year: i32, month: u32, day: u32 },
    #[error("year {0} is outside 1900..=2200")]
    Year(i32),
    #[error("{0:?} is not an ISO date (YYYY-MM-DD)")]
    Syntax(String),
}

impl Date {
    pub fn new(year: i32, month: u32, day: u32) -> Result<Self, DateError> {
        if !(1900..=2200).contains(&year) {
            return Err(DateError::Year(year));
        }
        if !(1..=12).contains(&month) {
            return Err(DateError::Month(month));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateError::Day { year, month, day });
        }
        Ok(Self {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// The last day of a month: the convention for figures published for a month or quarter.
    pub fn end_of_month(year: i32, month: u32) -> Result<Self, DateError> {
        if !(1..=12).contains(&month) {
            return Err(DateError::Month(month));
        }
        Self::new(year, month, days_in_month(year, month))
    }

    pub fn year(self) -> i32 {
        self.year
    }
    pub fn month(self) -> u32 {
        u32::from(self.month)
    }
    pub fn day(self) -> u32 {
        u32::from(self.day)
    }

    /// Days since 1970-01-01 (negative before), for durations between dates.
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl Date {
    /// The date `days` after 1970-01-01 (Howard Hinnant's civil_from_days); an error outside
    /// the supported years 1900 to 2200.
    pub fn from_days_since_epoch(days: i64) -> Result<Self, DateError> {
        // 1900-01-01 is day -25,567 and 2200-12-31 day 84,370: anything beyond is refused
        // before the arithmetic, which could otherwise overflow.
        const FIRST: i64 = -25_567;
        const LAST: i64 = 84_370;
        if !(FIRST..=LAST).contains(&days) {
            return Err(DateError::Year(if days < FIRST { 1899 } else { 2201 }));
        }
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = (if mp < 10 { mp + 3 } else { mp - 9 }) as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Ok(Self { year, month, day })
    }

    /// Today in UTC.
    pub fn today() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        // A clock outside 1900-2200 is broken; the epoch is as good an answer as any.
        Self::from_days_since_epoch(secs.div_euclid(86_400)).unwrap_or(Self {
            year: 1970,
            month: 1,
            day: 1,
        })
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || DateError::Syntax(s.to_owned());
        let mut parts = s.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(syntax());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(syntax());
        }
        // Digits only: `u32::from_str` would also take a leading `+`.
        let num = |p: &str| {
            if !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            p.parse::<u32>().map_err(|_| syntax())
        };
        Date::new(num(y)? as i32, num(m)?, num(d)?)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_iso_dates() {
        let d: Date = "2024-02-29".parse().unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
    }

    #[test]
    fn rejects_days_that_do_not_exist() {
        assert!("2025-02-29".parse::<Date>().is_err());
        assert!("2025-13-01".parse::<Date>().is_err());
        assert!("2025-1-01".parse::<Date>().is_err());
        assert!("2024-01-+1".parse::<Date>().is_err());
        assert!("2024-+1-01".parse::<Date>().is_err());
    }

    #[test]
    fn orders_chronologically() {
        let a: Date = "2024-12-31".parse().unwrap();
        let b: Date = "2025-01-01".parse().unwrap();
        assert!(a < b);
        assert_eq!(b.days_since_epoch() - a.days_since_epoch(), 1);
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        for days in [-25_567, -1000, 0, 59, 60, 20_000, 20_513, 84_370] {
            assert_eq!(
                Date::from_days_since_epoch(days)
                    .unwrap()
                    .days_since_epoch(),
                days
            );
        }
        for days in [-25_568, 84_371, i64::MIN, i64::MAX] {
            assert!(Date::from_days_since_epoch(days).is_err());
        }
    }
}
