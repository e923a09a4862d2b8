//! The report's page: markdown for `README.md` and the SVG of `tornado.svg`, from what
//! [`gather`](super::gather) collected. A pure function of the report, so that the same data
//! gives the same bytes.

use std::fmt::Write as _;

use leverage_proto::leverage::v1 as pb;

use super::tornado::{self, Bar, Chart};
use super::{
    ACTIONS, BUNDLED, GENERATED_MARKER, Kind, LEVER_RANGES, ModelScores, OPTIONS, README, Report,
    STATUS_QUO, TORNADO, action_name, driver_shares, fixed, level_name, lever_base, value_text,
};

/// How many legal drivers and component changes the comparison with an assessment names.
const LARGEST: usize = 3;

/// The page and the chart.
pub fn render(r: &Report) -> (String, String) {
    (readme(r), chart(r))
}

/// The command that regenerates the committed report of `id`.
pub fn command(id: &str) -> String {
    format!("leverage model report {id} --out docs/models/{id}/")
}

/// Text for a markdown table cell: one line, no column breaks.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn day(d: &Option<pb::Date>) -> String {
    d.as_ref().map_or("undated".to_owned(), |d| {
        format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
    })
}

fn legal_version(r: &Report) -> String {
    r.legal
        .iter()
        .find_map(|(_, a)| a.as_ref().ok())
        .map_or("unavailable".to_owned(), |a| a.model_version.clone())
}

/// The ranks of the options under one model (1 = highest score), `None` where an option has no
/// score. Ties share the better rank.
fn ranks(m: &ModelScores) -> Vec<Option<usize>> {
    let scores: Vec<Option<f64>> = OPTIONS.iter().map(|o| m.score(m.action_for(o))).collect();
    scores
        .iter()
        .map(|s| {
            s.map(|s| {
                1 + scores
                    .iter()
                    .filter(|o| o.is_some_and(|o| fixed(o) != fixed(s) && o > s))
                    .count()
            })
        })
        .collect()
}

/// The options from the highest score to the lowest under one model, e.g.
/// `reparations loan > confiscation > windfall only > status quo`.
fn order(m: &ModelScores) -> String {
    let mut scored: Vec<(f64, usize)> = OPTIONS
        .iter()
        .enumerate()
        .filter_map(|(i, o)| m.score(m.action_for(o)).map(|s| (s, i)))
        .collect();
    scored.sort_by(|a, b| {
        let k = |x: f64| -(x * 100.0).round() as i64;
        k(a.0).cmp(&k(b.0)).then(a.1.cmp(&b.1))
    });
    let mut text = String::new();
    for (n, (s, i)) in scored.iter().enumerate() {
        if n > 0 {
            let previous = scored[n - 1].0;
            text.push_str(if fixed(previous) == fixed(*s) {
                " = "
            } else {
                " > "
            });
        }
        text.push_str(OPTIONS[*i].name);
    }
    text
}

fn readme(r: &Report) -> String {
    let p = &r.plugin;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{GENERATED_MARKER} from a running server; do not edit: regenerate it (see \
         *regenerate* below). -->"
    );
    let _ = writeln!(
        s,
        "# `{}` {}: sensitivity and validation\n",
        r.id, p.version
    );
    let _ = writeln!(s, "**{}**: {}\n", p.display_name, p.description.trim());
    let _ = writeln!(
        s,
        "The score is in {}, from {} to {}: {}.\n",
        p.score_unit,
        value_text(p.score_min),
        value_text(p.score_max),
        p.score_description.trim_end_matches('.')
    );
    let _ = writeln!(s, "| | |\n|---|---|");
    let _ = writeln!(
        s,
        "| model | `plugins/{}`, version {} (its build is not cited: it changes with the compiler) |",
        r.id, p.version
    );
    let _ = writeln!(
        s,
        "| data | as of {}: shipped dataset release {}, dataset version {} |",
        r.as_of, r.dataset.version, r.dataset.dataset_version
    );
    let _ = writeln!(s, "| legal-risk model | `{}` |", legal_version(r));
    let _ = writeln!(
        s,
        "| calls | GetPlugin, ScoreScenarios, CompareScenarios, AssessLegalRisk, \
         ListPublishedAssessments: the report is a client of the server's public API |"
    );
    let _ = writeln!(
        s,
        "| regenerate | `{}`, against a server on the shipped dataset (`docs/models/reports.md`) |",
        command(&r.id)
    );
    let _ = writeln!(
        s,
        "| checked by | `cargo test -p leverage --test model_reports`, which fails when this page \
         is out of date (with `LEVERAGE_BLESS_REPORTS=1` set, it rewrites every committed \
         report) |\n"
    );
    let _ = writeln!(
        s,
        "The model's card, where it has one, is `card.md` beside this page; this page and `{TORNADO}` \
         are generated, everything else here is written by hand.\n"
    );
    base_section(&mut s, r);
    sensitivity_section(&mut s, r);
    ranking_section(&mut s, r);
    assessments_section(&mut s, r);
    s
}

fn base_section(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## The base: the 2026 policy scenario\n");
    let _ = writeln!(
        s,
        "The policy in force is the **{}**, {} (use mode `{}`). Every lever is set to the value \
         below, the data are read as of {}, and each factor of the sensitivity analysis is moved \
         over the range beside it, the others kept here.\n",
        STATUS_QUO.name,
        STATUS_QUO.what,
        action_name(STATUS_QUO.action),
        r.as_of
    );
    if let Some(why) = &r.package_refused {
        let _ = writeln!(
            s,
            "`{}` {} refuses the 2026 package ({}), so its sensitivity is analysed around \
             `{}`, the part of the package it knows: nothing done with the principal.\n",
            r.id,
            r.plugin.version,
            cell(why),
            action_name(r.base_action)
        );
    }
    let _ = writeln!(s, "| lever | unit | base | range | why this range |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for l in LEVER_RANGES {
        let base = if l.lever.is_none() {
            if lever_base(&l) == 0.0 { "no" } else { "yes" }.to_owned()
        } else {
            value_text(lever_base(&l))
        };
        let range = if l.lever.is_none() {
            "no / yes".to_owned()
        } else {
            format!("{} to {}", value_text(l.low), value_text(l.high))
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {base} | {range} | {} |",
            l.name,
            l.unit,
            cell(l.why)
        );
    }
    if !r.own_inputs.is_empty() {
        let _ = writeln!(s, "\nThe model's own inputs:\n");
        let _ = writeln!(s, "| input | base |");
        let _ = writeln!(s, "|---|---|");
        for (name, value) in &r.own_inputs {
            let _ = writeln!(s, "| `{name}` | {} |", value_text(*value));
        }
    }
    let _ = writeln!(
        s,
        "\nScore of the base scenario: **{}** {}.\n",
        fixed(r.base.score),
        r.base.score_unit
    );
    if !r.base.components.is_empty() {
        let _ = writeln!(s, "| component | value | unit |");
        let _ = writeln!(s, "|---|---|---|");
        for c in &r.base.components {
            let _ = writeln!(s, "| `{}` | {} | {} |", c.name, fixed(c.value), c.unit);
        }
        let _ = writeln!(s);
    }
}

fn sensitivity_section(s: &mut String, r: &Report) {
    let base = r.base.score;
    let _ = writeln!(s, "## Sensitivity\n");
    let _ = writeln!(
        s,
        "![Tornado chart: the score with each factor at the low and at the high end of its range, \
         widest swing first]({TORNADO})\n"
    );
    let _ = writeln!(
        s,
        "Each factor is moved to the low end, then to the high end of its range, everything else \
         at the base (score {}); its swing is the width of the bar from the lowest to the \
         highest of the two scores and the base, and the factors are sorted by it (ties by name). \
         Levers move over the ranges stated above. Parameters move from half to one and a half \
         times the server's value (a value of 0 by 10 % of its declared range either way), \
         clamped to the range the plugin declares; the model's own inputs likewise around their \
         default (the middle of the declared range when required). The ranges are this \
         project's judgment of what is plausible, not the plugin's limits.\n",
        fixed(base)
    );
    let _ = writeln!(
        s,
        "| # | factor | kind | unit | base | low → score | high → score | swing |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    let mut silent = Vec::new();
    let mut failed = Vec::new();
    let mut n = 0;
    for f in &r.factors {
        let Some(swing) = f.swing(base) else {
            failed.push(f);
            continue;
        };
        if fixed(swing) == fixed(0.0) {
            silent.push(format!("`{}` ({})", f.name, value_text(f.base)));
            continue;
        }
        n += 1;
        let end = |value: f64, score: &Result<f64, String>| {
            format!(
                "{} → {}",
                value_text(value),
                score.as_ref().map_or_else(|e| cell(e), |v| fixed(*v))
            )
        };
        let _ = writeln!(
            s,
            "| {n} | `{}` | {} | {} | {} | {} | {} | {} |",
            f.name,
            f.kind.word(),
            cell(&f.unit),
            value_text(f.base),
            end(f.low, &f.low_score),
            end(f.high, &f.high_score),
            fixed(swing)
        );
    }
    if !silent.is_empty() {
        let _ = writeln!(
            s,
            "\nNo effect at these ranges (swing below 0.005; base value in brackets): {}.",
            silent.join(", ")
        );
    }
    for f in failed {
        let why = |x: &Result<f64, String>| x.as_ref().err().cloned().unwrap_or_default();
        let _ = writeln!(
            s,
            "\n`{}` could not be scored at an end of its range: {} {}",
            f.name,
            cell(&why(&f.low_score)),
            cell(&why(&f.high_score))
        );
    }
    let _ = writeln!(s);
    // Parameters all follow the rule above; an own input says where its base came from.
    for f in r.factors.iter().filter(|f| f.kind == Kind::OwnInput) {
        let _ = writeln!(s, "- `{}`: {}", f.name, cell(&f.why));
    }
    let _ = writeln!(s);
}

fn ranking_section(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## Ranking of the main policy options\n");
    let _ = writeln!(
        s,
        "Each option scored by every bundled model with the base levers (CompareScenarios, each \
         model with the server's parameters), its rank among the four in brackets (1 = the \
         highest score), and the legal-risk model's overall risk of the option (AssessLegalRisk: \
         every jurisdiction holding located central-bank assets, weighted by the assets at \
         stake; lower is safer), as of {}.\n",
        r.as_of
    );
    let mut header = "| option | use mode |".to_owned();
    let mut rule = "|---|---|".to_owned();
    for m in &r.models {
        let _ = write!(header, " `{}` {} |", m.id, m.version);
        rule.push_str("---|");
    }
    let _ = write!(header, " legal risk (`{}`) |", legal_version(r));
    rule.push_str("---|");
    let _ = writeln!(s, "{header}\n{rule}");
    let model_ranks: Vec<Vec<Option<usize>>> = r.models.iter().map(ranks).collect();
    for (i, o) in OPTIONS.iter().enumerate() {
        let mut row = format!("| {} | `{}` |", o.name, action_name(o.action));
        for (m, rk) in r.models.iter().zip(&model_ranks) {
            let scored = m.action_for(o);
            let text = match (m.outcome(scored), rk[i]) {
                (Some(Ok(res)), Some(rank)) if scored != o.action => format!(
                    "{} ({rank}), as `{}`: it refuses `{}`",
                    fixed(res.score),
                    action_name(scored),
                    action_name(o.action)
                ),
                (Some(Ok(res)), Some(rank)) => format!("{} ({rank})", fixed(res.score)),
                (Some(Err(e)), _) => format!("not scored: {}", cell(e)),
                _ => "not scored".to_owned(),
            };
            let _ = write!(row, " {text} |");
        }
        let legal = match r.legal.iter().find(|(a, _)| *a == o.action) {
            Some((_, Ok(a))) => {
                format!("{} {}", fixed(a.overall_risk), level_name(a.overall_level))
            }
            Some((_, Err(e))) => format!("not assessed: {}", cell(e)),
            None => "not assessed".to_owned(),
        };
        let _ = writeln!(s, "{row} {legal} |");
    }
    let _ = writeln!(s);
    for o in &OPTIONS {
        let _ = writeln!(s, "- **{}**: {}.", o.name, o.what);
    }
    let _ = writeln!(s);
    let orders: Vec<(String, String)> = r.models.iter().map(|m| (m.id.clone(), order(m))).collect();
    let all_same = orders.windows(2).all(|w| w[0].1 == w[1].1);
    if all_same && orders.len() > 1 {
        let _ = writeln!(
            s,
            "Every model orders the options the same way: {}.",
            orders[0].1
        );
    } else {
        for (id, o) in &orders {
            let _ = writeln!(s, "- `{id}`: {o}");
        }
    }
    if !r.missing_models.is_empty() {
        let _ = writeln!(
            s,
            "\nNot served by the server the report was made with, so left out: {}.",
            r.missing_models
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(s);
    // The bundled list is part of the contract of this section: say which models it means.
    let _ = writeln!(
        s,
        "The bundled models are {}.\n",
        BUNDLED
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(" and ")
    );
}

/// The legal-risk model's number for one action, with its largest drivers.
fn legal_line(r: &Report, action: pb::AssetAction) -> String {
    match r.legal.iter().find(|(a, _)| *a == action) {
        Some((_, Ok(a))) => {
            let drivers: Vec<String> = driver_shares(a)
                .into_iter()
                .take(LARGEST)
                .map(|d| {
                    format!(
                        "{} `{}` {} %",
                        cell(&d.title),
                        d.ref_id,
                        fixed(d.share * 100.0)
                    )
                })
                .collect();
            format!(
                "{} {}; largest drivers (share of the overall risk): {}",
                fixed(a.overall_risk),
                level_name(a.overall_level),
                if drivers.is_empty() {
                    "none".to_owned()
                } else {
                    drivers.join("; ")
                }
            )
        }
        Some((_, Err(e))) => format!("not assessed: {}", cell(e)),
        None => "not assessed".to_owned(),
    }
}

/// This model's score of one action, its rank among the options when it is one, and the
/// components that move most against the status quo.
fn model_line(r: &Report, action: pb::AssetAction) -> String {
    let Some(m) = r.models.first() else {
        return "not scored".to_owned();
    };
    let result = match m.outcome(action) {
        Some(Ok(res)) => res,
        Some(Err(e)) => return format!("not scored: {}", cell(e)),
        None => return "not scored".to_owned(),
    };
    let mut text = fixed(result.score);
    if let Some(i) = OPTIONS.iter().position(|o| m.action_for(o) == action)
        && let Some(rank) = ranks(m)[i]
    {
        let _ = write!(text, " (rank {rank} of {})", OPTIONS.len());
    }
    let status_quo = m.status_quo();
    if action == status_quo {
        return format!("{text}, the status quo");
    }
    if let Some(Ok(base)) = m.outcome(status_quo) {
        let mut moves: Vec<(f64, String)> = result
            .components
            .iter()
            .filter_map(|c| {
                let before = base.components.iter().find(|b| b.name == c.name)?;
                let delta = c.value - before.value;
                (fixed(delta) != fixed(0.0)).then(|| {
                    let sign = if delta > 0.0 { "+" } else { "" };
                    (delta, format!("`{}` {sign}{}", c.name, fixed(delta)))
                })
            })
            .collect();
        moves.sort_by(|a, b| {
            let k = |x: f64| -(x.abs() * 100.0).round() as i64;
            k(a.0).cmp(&k(b.0)).then(a.1.cmp(&b.1))
        });
        if !moves.is_empty() {
            let listed: Vec<String> = moves.into_iter().take(LARGEST).map(|m| m.1).collect();
            let _ = write!(
                text,
                "; against the status quo ({}): {}",
                fixed(base.score),
                listed.join(", ")
            );
        }
    }
    text
}

/// How the legal-risk model's level of an action compares with an assessment's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agreement {
    Agrees,
    /// The model's level is this many bands above the verdict.
    Higher(i32),
    /// The model's level is this many bands below the verdict.
    Lower(i32),
    /// The model gave no number for the action.
    Unknown,
}

impl Agreement {
    pub fn of(model_level: Option<i32>, verdict: i32) -> Self {
        match model_level {
            None => Agreement::Unknown,
            Some(m) if m == verdict => Agreement::Agrees,
            Some(m) if m > verdict => Agreement::Higher(m - verdict),
            Some(m) => Agreement::Lower(verdict - m),
        }
    }

    fn text(self) -> String {
        let bands = |n: i32| {
            if n == 1 {
                "1 band".to_owned()
            } else {
                format!("{n} bands")
            }
        };
        match self {
            Agreement::Agrees => "agrees".to_owned(),
            Agreement::Higher(n) => format!("**{} higher**", bands(n)),
            Agreement::Lower(n) => format!("**{} lower**", bands(n)),
            Agreement::Unknown => "no number".to_owned(),
        }
    }
}

/// The legal-risk model's overall level of an action, when it assessed it.
fn model_level(r: &Report, action: pb::AssetAction) -> Option<i32> {
    r.legal
        .iter()
        .find(|(a, _)| *a == action)
        .and_then(|(_, a)| a.as_ref().ok())
        .map(|a| a.overall_level)
}

/// An assessment's actions as the API gives them (unknown numbers are left out).
fn assessment_actions(a: &pb::PublishedAssessment) -> Vec<pb::AssetAction> {
    a.actions
        .iter()
        .filter_map(|n| pb::AssetAction::try_from(*n).ok())
        .filter(|x| *x != pb::AssetAction::Unspecified)
        .collect()
}

/// Whether the project has read an assessment: which actions, and its verdict as a level.
fn is_read(a: &pb::PublishedAssessment) -> bool {
    !assessment_actions(a).is_empty() && a.risk_level != pb::RiskLevel::Unspecified as i32
}

fn assessments_section(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## Against the published assessments\n");
    if r.assessments.is_empty() {
        let _ = writeln!(s, "The dataset holds no published assessment.");
        return;
    }
    let _ = writeln!(
        s,
        "The numbers of each use mode as of {}: the legal-risk model's overall risk and level, \
         with the doctrines and positions that explain most of it (each one's share of the \
         overall risk, over every jurisdiction weighted by the assets at stake), and `{}`'s \
         score with the components that move most against the status quo.\n",
        r.as_of, r.id
    );
    let _ = writeln!(
        s,
        "| use mode | legal-risk model | `{}` {} |",
        r.id, r.plugin.version
    );
    let _ = writeln!(s, "|---|---|---|");
    for action in ACTIONS {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} |",
            action_name(action),
            legal_line(r, action),
            model_line(r, action)
        );
    }
    let _ = writeln!(s);
    // Every (assessment, action) reading against the model's level.
    let mut readings = Vec::new();
    for a in r.assessments.iter().filter(|a| is_read(a)) {
        for action in assessment_actions(a) {
            readings.push((
                a,
                action,
                Agreement::of(model_level(r, action), a.risk_level),
            ));
        }
    }
    let count = |f: fn(&Agreement) -> bool| readings.iter().filter(|(_, _, g)| f(g)).count();
    let _ = writeln!(
        s,
        "The dataset holds {} published assessments; {} are read, by this project, as a risk \
         level for the actions they speak about (the dataset's `actions` and `risk_level`: a \
         reading of the conclusion, not the author's words). Of their {} verdicts on one action, \
         the legal-risk model as of {} agrees with {}, rates the risk higher than {} and lower \
         than {}. The model knows what happened after each assessment was published (later \
         positions, the May 2026 Moscow judgment where the model reads it), so a disagreement \
         is either new facts or a different weighing: the drivers beside each say which.\n",
        r.assessments.len(),
        r.assessments.iter().filter(|a| is_read(a)).count(),
        readings.len(),
        r.as_of,
        count(|g| *g == Agreement::Agrees),
        count(|g| matches!(g, Agreement::Higher(_))),
        count(|g| matches!(g, Agreement::Lower(_))),
    );
    let _ = writeln!(
        s,
        "| assessment | its verdict | use mode | legal-risk model, against the verdict | the \
         model's largest drivers | `{}` |",
        r.id
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for (a, action, agreement) in &readings {
        let drivers: Vec<String> = r
            .legal
            .iter()
            .find(|(x, _)| x == action)
            .and_then(|(_, l)| l.as_ref().ok())
            .map(|l| {
                driver_shares(l)
                    .into_iter()
                    .take(LARGEST)
                    .map(|d| format!("`{}` {} %", d.ref_id, fixed(d.share * 100.0)))
                    .collect()
            })
            .unwrap_or_default();
        let model = r
            .legal
            .iter()
            .find(|(x, _)| x == action)
            .and_then(|(_, l)| l.as_ref().ok())
            .map_or("not assessed".to_owned(), |l| {
                format!(
                    "{} {}, {}",
                    fixed(l.overall_risk),
                    level_name(l.overall_level),
                    agreement.text()
                )
            });
        let score = r
            .models
            .first()
            .and_then(|m| m.score(*action))
            .map_or("not scored".to_owned(), fixed);
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {model} | {} | {score} |",
            cell(&a.author),
            level_name(a.risk_level),
            action_name(*action),
            if drivers.is_empty() {
                "none".to_owned()
            } else {
                drivers.join(", ")
            }
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "The assessments, as published:\n");
    let _ = writeln!(s, "| assessment | date | subject | conclusion | read as |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    for a in &r.assessments {
        let author = match a.source.as_ref().filter(|src| !src.url.is_empty()) {
            Some(src) => format!("[{}]({})", cell(&a.author), src.url),
            None => cell(&a.author),
        };
        let date = if a.date_label.is_empty() {
            day(&a.date)
        } else {
            a.date_label.clone()
        };
        let read = if is_read(a) {
            format!(
                "{} for {}",
                level_name(a.risk_level),
                assessment_actions(a)
                    .into_iter()
                    .map(|x| format!("`{}`", action_name(x)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            "not read yet".to_owned()
        };
        let _ = writeln!(
            s,
            "| {author} | {date} | {} | {} | {read} |",
            cell(&a.subject),
            cell(&a.conclusion)
        );
    }
    let _ = writeln!(s);
}

fn chart(r: &Report) -> String {
    let base = r.base.score;
    let bars: Vec<Bar> = r
        .factors
        .iter()
        .filter(|f| f.swing(base).is_some_and(|w| fixed(w) != fixed(0.0)))
        .filter_map(|f| {
            Some(Bar {
                label: format!("{} ({})", f.name, f.kind.word()),
                low_value: value_text(f.low),
                high_value: value_text(f.high),
                low_score: *f.low_score.as_ref().ok()?,
                high_score: *f.high_score.as_ref().ok()?,
            })
        })
        .collect();
    let title = format!(
        "{} {}: sensitivity around the 2026 policy scenario, as of {}",
        r.id, r.plugin.version, r.as_of
    );
    let description = format!(
        "Each bar spans the score with one factor at the low end (blue) and at the high end \
         (orange) of its plausible range, every other factor at the base scenario (the {}, use \
         mode {}, as of {}, score {}); widest swing first. The table in {README} gives every \
         value.",
        STATUS_QUO.name,
        action_name(r.base_action),
        r.as_of,
        fixed(base)
    );
    let axis = format!("score ({})", r.plugin.score_unit);
    let svg = tornado::svg(&Chart {
        title: &title,
        description: &description,
        axis_label: &axis,
        base_score: base,
        bars: &bars,
    });
    // An XML comment may not hold `--`, so the command (`--out`) is named in README.md only.
    format!("{GENERATED_MARKER}; do not edit: regenerate it (see {README}). -->\n{svg}")
}
