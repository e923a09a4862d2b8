//! The dataset's file formats: the TOML of `data/dataset.toml` (any subset of its tables), a
//! CSV of observations or of exchange rates, and the ECB's euro reference-rate CSV. Reading a
//! file yields records or every problem in it, each with its line and field; nothing is
//! half-read.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::codes::Currency;
use crate::dataset::{Dataset, DatasetMeta};
use crate::date::Date;
use crate::model::{
    Bound, Confidence, Doctrine, ExchangeRate, Figure, FundingInstrument, Holding, Observation,
    Position, PublishedAssessment, Scale, Source,
};
use crate::record::Record;

/// One problem in a file: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileProblem {
    pub file: String,
    /// 1-based; 0 when the problem is not tied to a line.
    pub line: usize,
    /// The field (column or key) at fault; empty when the whole row is.
    pub field: String,
    pub message: String,
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, " line {}", self.line)?;
        }
        if !self.field.is_empty() {
            write!(f, ", field {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The formats a file may be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    DatasetToml,
    ObservationsCsv,
    ExchangeRatesCsv,
    EcbReferenceRatesCsv,
}

/// A dataset file as written: like [`Dataset`], every table optional, so that a file may carry
/// a few figures or one holding's new observations.
#[derive(Debug, Default, Serialize, Deserialize)]
struct DatasetFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    meta: Option<DatasetMeta>,
    #[serde(
        default,
        rename = "exchange_rate",
        skip_serializing_if = "Vec::is_empty"
    )]
    rates: Vec<ExchangeRate>,
    #[serde(default, rename = "holding", skip_serializing_if = "Vec::is_empty")]
    holdings: Vec<Holding>,
    #[serde(default, rename = "figure", skip_serializing_if = "Vec::is_empty")]
    figures: Vec<Figure>,
    #[serde(default, rename = "doctrine", skip_serializing_if = "Vec::is_empty")]
    doctrines: Vec<Doctrine>,
    #[serde(default, rename = "position", skip_serializing_if = "Vec::is_empty")]
    positions: Vec<Position>,
    #[serde(default, rename = "assessment", skip_serializing_if = "Vec::is_empty")]
    assessments: Vec<PublishedAssessment>,
    #[serde(default, rename = "instrument", skip_serializing_if = "Vec::is_empty")]
    instruments: Vec<FundingInstrument>,
}

/// Tells a file's format from its name and first line.
pub fn detect(file: &str, text: &str) -> Result<FileFormat, FileProblem> {
    let lower = file.to_ascii_lowercase();
    if lower.ends_with(".toml") {
        return Ok(FileFormat::DatasetToml);
    }
    let header: Vec<String> = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('\u{feff}')
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let has = |c: &str| header.iter().any(|h| h == c);
    let problem = |message: String| FileProblem {
        file: file.to_owned(),
        line: 1,
        field: String::new(),
        message,
    };
    if !lower.ends_with(".csv") {
        return Err(problem(
            "the file's name must end in .toml (a dataset file) or .csv (observations, \
             exchange rates, or the ECB's reference rates)"
                .into(),
        ));
    }
    if header.first().is_some_and(|h| h == "date") {
        Ok(FileFormat::EcbReferenceRatesCsv)
    } else if has("holding") {
        Ok(FileFormat::ObservationsCsv)
    } else if has("base") && has("quote") {
        Ok(FileFormat::ExchangeRatesCsv)
    } else {
        Err(problem(format!(
            "the header names neither observations (a `holding` column: {OBSERVATION_COLUMNS}) \
             nor exchange rates (`base` and `quote`: {RATE_COLUMNS}) nor the ECB's layout \
             (`Date` then currency codes)"
        )))
    }
}

/// A record read from a file, with the line it starts on (0 when unknown).
#[derive(Clone, Debug, PartialEq)]
pub struct FileRecord {
    pub line: usize,
    pub record: Record,
}

/// Reads a file into records, or every problem it has.
pub fn read(file: &str, text: &str) -> Result<Vec<FileRecord>, Vec<FileProblem>> {
    match detect(file, text).map_err(|p| vec![p])? {
        FileFormat::DatasetToml => read_toml(file, text),
        FileFormat::ObservationsCsv => read_observations_csv(file, text),
        FileFormat::ExchangeRatesCsv => read_rates_csv(file, text),
        FileFormat::EcbReferenceRatesCsv => read_ecb_csv(file, text),
    }
}

/// The problems `incoming` would cause in `current`: the dataset checker's, and observations
/// of holdings that exist in neither. Each is tied to the line of the record it names.
pub fn check_against(file: &str, current: &Dataset, incoming: &[FileRecord]) -> Vec<FileProblem> {
    let mut merged: HashMap<crate::record::RecordKey, Record> = current
        .records()
        .into_iter()
        .map(|r| (r.key(), r))
        .collect();
    for r in incoming {
        merged.insert(r.record.key(), r.record.clone());
    }
    let mut problems = Vec::new();
    for r in incoming {
        if let Record::Observation { holding, .. } = &r.record {
            let key = crate::record::RecordKey::new(crate::record::RecordKind::Holding, holding);
            if !merged.contains_key(&key) {
                problems.push(FileProblem {
                    file: file.to_owned(),
                    line: r.line,
                    field: "holding".into(),
                    message: format!("holdings/{holding} does not exist, here or in the file"),
                });
            }
        }
    }
    let Some(dataset) = Dataset::from_records(merged.into_values()) else {
        return problems;
    };
    for p in dataset.problems() {
        let line = incoming
            .iter()
            .find(|r| {
                p.contains(&format!(" {} ", r.record.id()))
                    || p.contains(&format!("{:?}", r.record.id()))
            })
            .map_or(0, |r| r.line);
        problems.push(FileProblem {
            file: file.to_owned(),
            line,
            field: String::new(),
            message: p,
        });
    }
    problems
}

fn read_toml(file: &str, text: &str) -> Result<Vec<FileRecord>, Vec<FileProblem>> {
    let parsed: DatasetFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].lines().count().max(1)
        });
        vec![FileProblem {
            file: file.to_owned(),
            line,
            field: String::new(),
            message: e.message().to_owned(),
        }]
    })?;
    let mut out = Vec::new();
    if let Some(meta) = parsed.meta {
        out.push(Record::Meta(meta));
    }
    out.extend(parsed.rates.into_iter().map(Record::ExchangeRate));
    for mut h in parsed.holdings {
        let series = std::mem::take(&mut h.observations);
        let id = h.id.clone();
        out.push(Record::Holding(h));
        out.extend(series.into_iter().map(|o| Record::Observation {
            holding: id.clone(),
            observation: Arc::unwrap_or_clone(o),
        }));
    }
    out.extend(parsed.figures.into_iter().map(Record::Figure));
    out.extend(parsed.doctrines.into_iter().map(Record::Doctrine));
    out.extend(parsed.positions.into_iter().map(Record::Position));
    out.extend(parsed.assessments.into_iter().map(Record::Assessment));
    out.extend(parsed.instruments.into_iter().map(Record::Instrument));
    let mut seen = HashSet::new();
    let problems: Vec<FileProblem> = out
        .iter()
        .filter(|r| !seen.insert(r.key()))
        .map(|r| FileProblem {
            file: file.to_owned(),
            line: line_of_id(text, r.id()),
            field: "id".into(),
            message: format!("{} is given twice", r.name()),
        })
        .collect();
    if problems.is_empty() {
        Ok(out
            .into_iter()
            .map(|record| FileRecord {
                line: match &record {
                    Record::Meta(_) => text
                        .lines()
                        .position(|l| l.trim() == "[meta]")
                        .map_or(0, |i| i + 1),
                    r => line_of_id(text, r.id()),
                },
                record,
            })
            .collect())
    } else {
        Err(problems)
    }
}

/// The line where a TOML file gives `id = "<id>"`, 0 when it does not.
pub fn line_of_id(text: &str, id: &str) -> usize {
    let wanted = format!("\"{id}\"");
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with("id") && l.contains('=') && l.contains(&wanted)
        })
        .map_or(0, |i| i + 1)
}

/// The columns of an observations CSV (those marked * are required).
pub const OBSERVATION_COLUMNS: &str = "holding*, id*, as_of*, value*, currency*, publisher*, \
     confidence*, verified*, value_high, scale, bound, as_of_label, title, url, published, \
     retrieved, note";

/// The columns of an exchange-rates CSV (those marked * are required).
pub const RATE_COLUMNS: &str = "id*, base*, quote*, rate*, as_of*, kind*, publisher*, \
     confidence*, verified*, as_of_label, title, url, published, retrieved, note";

/// One CSV row by column name, collecting the problems of its fields.
struct Row<'a> {
    file: &'a str,
    line: usize,
    columns: &'a HashMap<String, usize>,
    record: &'a csv::StringRecord,
    problems: &'a mut Vec<FileProblem>,
}

impl Row<'_> {
    fn cell(&self, column: &str) -> Option<&str> {
        let at = *self.columns.get(column)?;
        self.record.get(at).map(str::trim).filter(|v| !v.is_empty())
    }

    fn bad(&mut self, column: &str, message: impl Into<String>) {
        self.problems.push(FileProblem {
            file: self.file.to_owned(),
            line: self.line,
            field: column.to_owned(),
            message: message.into(),
        });
    }

    fn required(&mut self, column: &str) -> Option<String> {
        let v = self.cell(column).map(str::to_owned);
        if v.is_none() {
            self.bad(column, "is required");
        }
        v
    }

    fn optional(&self, column: &str) -> Option<String> {
        self.cell(column).map(str::to_owned)
    }

    fn parsed<T, E: fmt::Display>(
        &mut self,
        column: &str,
        required: bool,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Option<T> {
        let raw = if required {
            self.required(column)?
        } else {
            self.optional(column)?
        };
        match parse(&raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.bad(column, format!("{raw:?}: {e}"));
                None
            }
        }
    }

    fn number(&mut self, column: &str, required: bool) -> Option<f64> {
        self.parsed(column, required, |s| match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
            Ok(_) => Err("must be a finite number, zero or more".to_owned()),
            Err(_) => Err("is not a number".to_owned()),
        })
    }

    fn date(&mut self, column: &str, required: bool) -> Option<Date> {
        self.parsed(column, required, |s| s.parse::<Date>())
    }

    fn word<T: serde::de::DeserializeOwned>(
        &mut self,
        column: &str,
        required: bool,
        allowed: &str,
    ) -> Option<T> {
        self.parsed(column, required, |s| {
            crate::snapshot::parse_enum::<T>(s).ok_or_else(|| format!("must be one of {allowed}"))
        })
    }

    fn flag(&mut self, column: &str) -> Option<bool> {
        self.parsed(column, true, |s| match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            _ => Err("must be true or false"),
        })
    }

    fn source(&mut self) -> Option<Source> {
        let publisher = self.required("publisher")?;
        Some(Source {
            publisher: publisher.into(),
            title: self.optional("title").map(Into::into),
            url: self.optional("url").unwrap_or_default().into(),
            published: self.date("published", false),
            retrieved: self.date("retrieved", false),
            import_id: None,
        })
    }
}

/// A reader of a CSV text: cells trimmed, rows of any length, a byte-order mark skipped.
fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
}

/// Walks a CSV file's rows by column name; `build` turns each into a record or reports.
fn read_csv(
    file: &str,
    text: &str,
    required: &[&str],
    mut build: impl FnMut(&mut Row<'_>) -> Option<Record>,
) -> Result<Vec<FileRecord>, Vec<FileProblem>> {
    let mut reader = csv_reader(text);
    let mut problems = Vec::new();
    let columns: HashMap<String, usize> = match reader.headers() {
        Ok(h) => h
            .iter()
            .enumerate()
            .map(|(i, c)| (c.to_ascii_lowercase(), i))
            .collect(),
        Err(e) => {
            return Err(vec![FileProblem {
                file: file.to_owned(),
                line: 1,
                field: String::new(),
                message: e.to_string(),
            }]);
        }
    };
    for c in required {
        if !columns.contains_key(*c) {
            problems.push(FileProblem {
                file: file.to_owned(),
                line: 1,
                field: (*c).to_owned(),
                message: "the header lacks this required column".into(),
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                problems.push(FileProblem {
                    file: file.to_owned(),
                    line,
                    field: String::new(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let before = problems.len();
        let mut row = Row {
            file,
            line,
            columns: &columns,
            record: &record,
            problems: &mut problems,
        };
        let built = build(&mut row);
        if problems.len() == before
            && let Some(record) = built
        {
            out.push(FileRecord { line, record });
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn read_observations_csv(file: &str, text: &str) -> Result<Vec<FileRecord>, Vec<FileProblem>> {
    let required = [
        "holding",
        "id",
        "as_of",
        "value",
        "currency",
        "publisher",
        "confidence",
        "verified",
    ];
    read_csv(file, text, &required, |row| {
        let holding = row.required("holding");
        let id = row.required("id");
        let as_of = row.date("as_of", true);
        let value = row.number("value", true);
        let value_high = row.number("value_high", false);
        let currency = row.parsed("currency", true, Currency::parse);
        let scale: Scale = row
            .word("scale", false, "unit, thousand, million, billion, trillion")
            .unwrap_or_default();
        let bound: Bound = row
            .word("bound", false, "exact, approximately, at_least, at_most")
            .unwrap_or_default();
        let confidence: Option<Confidence> = row.word("confidence", true, "low, medium, high");
        let verified = row.flag("verified");
        let source = row.source();
        if let (Some(v), Some(h)) = (value, value_high)
            && h < v
        {
            row.bad("value_high", "must not be below value");
        }
        Some(Record::Observation {
            holding: holding?,
            observation: Observation {
                id: id?,
                value: value?,
                value_high,
                scale,
                currency: currency?,
                bound,
                as_of: as_of?,
                as_of_label: row.optional("as_of_label").map(Into::into),
                source: source?,
                confidence: confidence?,
                verified: verified?,
                note: row.optional("note").map(Into::into),
                audit: Default::default(),
            },
        })
    })
}

fn read_rates_csv(file: &str, text: &str) -> Result<Vec<FileRecord>, Vec<FileProblem>> {
    let required = [
        "id",
        "base",
        "quote",
        "rate",
        "as_of",
        "kind",
        "publisher",
        "confidence",
        "verified",
    ];
    read_csv(file, text, &required, |row| {
        let id = row.required("id");
        let base = row.parsed("base", true, Currency::parse);
        let quote = row.parsed("quote", true, Currency::parse);
        let rate = row.number("rate", true);
        if rate == Some(0.0) {
            row.bad("rate", "must be above zero");
        }
        let as_of = row.date("as_of", true);
        let kind = row.required("kind");
        let confidence: Option<Confidence> = row.word("confidence", true, "low, medium, high");
        let verified = row.flag("verified");
        let source = row.source();
        Some(Record::ExchangeRate(ExchangeRate {
            id: id?,
            base: base?,
            quote: quote?,
            rate: rate?,
            as_of: as_of?,
            as_of_label: row.optional("as_of_label"),
            kind: kind?,
            source: source?,
            confidence: confidence?,
            verified: verified?,
            note: row.optional("note"),
        }))
    })
}

/// The ECB's page for its reference rates, cited by every rate read from its CSV files.
pub const ECB_RATES_URL: &str = "https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/html/index.en.html";

/// A date as the ECB's files write it: `2026-12-02` (history) or `02 December 2026` (daily).
fn ecb_date(s: &str) -> Result<Date, String> {
    if let Ok(d) = s.parse::<Date>() {
        return Ok(d);
    }
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let parts: Vec<&str> = s.split_whitespace().collect();
    if let [day, month, year] = parts.as_slice()
        && let Some(m) = MONTHS
            .iter()
            .position(|name| name.eq_ignore_ascii_case(month))
        && let (Ok(day), Ok(year)) = (day.parse::<u32>(), year.parse::<i32>())
    {
        return Date::new(year, m as u32 + 1, day).map_err(|e| e.to_string());
    }
    Err("is not a date (2026-12-02 or 02 December 2026)".into())
}

/// The ECB's layout: a `Date` column, then one column per currency (units per euro), `N/A` or
/// empty where there is no rate. Columns of currencies no longer in ISO 4217 (the history file
/// keeps some from before the euro) are skipped.
fn read_ecb_csv(file: &str, text: &str) -> Result<Vec<FileRecord>, Vec<FileProblem>> {
    let mut reader = csv_reader(text);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(str::to_owned).collect(),
        Err(e) => {
            return Err(vec![FileProblem {
                file: file.to_owned(),
                line: 1,
                field: String::new(),
                message: e.to_string(),
            }]);
        }
    };
    let currencies: Vec<(usize, Currency)> = header
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, c)| Currency::parse(c).ok().map(|c| (i, c)))
        .filter(|(_, c)| c.as_str() != "EUR")
        .collect();
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(FileProblem {
                    file: file.to_owned(),
                    line: e.position().map_or(0, |p| p.line() as usize),
                    field: String::new(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let bad = |field: &str, message: String| FileProblem {
            file: file.to_owned(),
            line,
            field: field.to_owned(),
            message,
        };
        let date = match ecb_date(record.get(0).unwrap_or("")) {
            Ok(d) => d,
            Err(e) => {
                problems.push(bad("Date", e));
                continue;
            }
        };
        for (at, currency) in &currencies {
            let raw = record.get(*at).unwrap_or("").trim();
            if raw.is_empty() || raw.eq_ignore_ascii_case("N/A") {
                continue;
            }
            match raw.parse::<f64>() {
                Ok(rate) if rate.is_finite() && rate > 0.0 => out.push(FileRecord {
                    line,
                    record: Record::ExchangeRate(ExchangeRate {
                        id: format!("ecb-{date}-{}", currency.as_str().to_ascii_lowercase()),
                        base: Currency::parse("EUR").unwrap_or(*currency),
                        quote: *currency,
                        rate,
                        as_of: date,
                        as_of_label: None,
                        kind: "ECB euro reference rate".into(),
                        source: Source {
                            publisher: "European Central Bank".into(),
                            title: Some("Euro foreign exchange reference rates".into()),
                            url: ECB_RATES_URL.into(),
                            published: Some(date),
                            ..Source::default()
                        },
                        confidence: Confidence::High,
                        verified: true,
                        note: None,
                    }),
                }),
                _ => problems.push(bad(
                    currency.as_str(),
                    format!("{raw:?} is not a positive rate"),
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The dataset as the TOML of `data/dataset.toml`, without the import ids this database
/// stamped on its rows (they say where a row came from here, not what it says).
pub fn to_toml(dataset: &Dataset) -> Result<String, String> {
    let mut file = DatasetFile {
        meta: Some(dataset.meta.clone()),
        ..DatasetFile::default()
    };
    for r in dataset.records() {
        match r.without_provenance() {
            Record::Meta(_) => {}
            Record::ExchangeRate(x) => file.rates.push(x),
            Record::Holding(x) => file.holdings.push(x),
            Record::Observation {
                holding,
                observation,
            } => {
                if let Some(h) = file.holdings.iter_mut().rev().find(|h| h.id == holding) {
                    h.observations.push(Arc::new(observation));
                }
            }
            Record::Figure(x) => file.figures.push(x),
            Record::Doctrine(x) => file.doctrines.push(x),
            Record::Position(x) => file.positions.push(x),
            Record::Assessment(x) => file.assessments.push(x),
            Record::Instrument(x) => file.instruments.push(x),
        }
    }
    toml::to_string(&file).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_shipped_dataset_exported_reads_back_as_the_same_records() {
        let d = Dataset::embedded().unwrap();
        let text = to_toml(&d).unwrap();
        let back: Vec<Record> = read("export.toml", &text)
            .unwrap()
            .into_iter()
            .map(|r| r.record)
            .collect();
        assert_eq!(back, d.records());
    }

    #[test]
    fn an_observations_csv_with_bad_rows_names_each_line_and_field() {
        let text = "holding,id,as_of,value,currency,publisher,confidence,verified\n\
                    h1,o1,2026-01-31,12.5,EUR,Euroclear,high,true\n\
                    h1,o2,2026-02-30,-1,EUX,,sure,maybe\n";
        let problems = read("obs.csv", text).unwrap_err();
        let at: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.line, p.field.as_str()))
            .collect();
        assert_eq!(
            at,
            [
                (3, "as_of"),
                (3, "value"),
                (3, "currency"),
                (3, "confidence"),
                (3, "verified"),
                (3, "publisher"),
            ]
        );
        assert!(
            problems[0]
                .to_string()
                .starts_with("obs.csv line 3, field as_of")
        );
    }

    #[test]
    fn the_ecb_daily_and_history_layouts_give_dated_sourced_rates() {
        let daily = "Date, USD, JPY, CYP, \n02 December 2026, 1.1612, 180.50, N/A, \n";
        let rates = read("eurofxref.csv", daily).unwrap();
        assert_eq!(
            rates.len(),
            2,
            "CYP is no longer a currency and N/A is skipped"
        );
        let Record::ExchangeRate(usd) = &rates[0].record else {
            panic!()
        };
        assert_eq!(usd.id, "ecb-2026-12-02-usd");
        assert_eq!((usd.base.as_str(), usd.rate), ("EUR", 1.1612));
        assert_eq!(&*usd.source.publisher, "European Central Bank");
        let history = "Date,USD,GBP,\n2026-12-02,1.1612,0.8801,\n2026-12-01,1.16,N/A,\n";
        assert_eq!(read("eurofxref-hist.csv", history).unwrap().len(), 3);
        let bad = "Date,USD\n2026-13-01,1.1\n2026-12-01,abc\n";
        let problems = read("eurofxref-hist.csv", bad).unwrap_err();
        assert_eq!(
            problems
                .iter()
                .map(|p| (p.line, p.field.as_str()))
                .collect::<Vec<_>>(),
            [(2, "Date"), (3, "USD")]
        );
    }

    #[test]
    fn a_toml_error_names_its_line() {
        let text = "[[figure]]\nid = \"F-1\"\ncategory = 3\n";
        let problems = read("f.toml", text).unwrap_err();
        assert_eq!(problems[0].line, 3, "{problems:?}");
    }
}
