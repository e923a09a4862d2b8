//! Scoring from a terminal: `leverage score`, `leverage plugin describe`, and what `score` and
//! `sweep` share: plugin names, and the values a call gives the plugin's own inputs and its
//! parameters. Those values are checked against the plugin's schema (GetPlugin) before
//! anything is sent; what the server would refuse is refused here in the server's own words
//! (`crates/leverage-server/src/scoring/inputs.rs`), each after where the value was given.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context as _;
use clap::Args;
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::scoring_service_client::ScoringServiceClient;
use serde_json::json;

use super::{Compressed, Conn, Connection, ScenarioFile, channel, explain, table};

/// `NAME=VALUE`, as `--input` and `--param` take it.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    pub name: String,
    pub value: f64,
}

impl FromStr for Setting {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, value) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("{text:?} has no name before `=`"));
        }
        let value = value
            .trim()
            .parse()
            .map_err(|_| format!("{:?} (the value of {name}) is not a number", value.trim()))?;
        Ok(Self {
            name: name.to_owned(),
            value,
        })
    }
}

/// The values a call sets for the plugin's own inputs and for its parameters.
#[derive(Args, Debug, Clone, Default)]
pub struct CallValues {
    /// Value of an input the plugin declares itself, NAME=VALUE (repeatable), e.g.
    /// `--input escrow.share=0.4`; it replaces the scenario file's value of that input
    /// (`[inputs]`). `leverage plugin describe ID` lists a plugin's inputs.
    #[arg(long = "input", value_name = "NAME=VALUE")]
    pub inputs: Vec<Setting>,
    /// Value of one of the plugin's parameters for this call only, NAME=VALUE (repeatable),
    /// e.g. `--param weight=0.3`; the others keep the server's values.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<Setting>,
}

/// A value for one of the plugin's own inputs, and where it was given (for a message).
#[derive(Clone, Debug)]
pub struct Given {
    pub name: String,
    pub value: f64,
    /// `--input NAME` or `FILE [inputs]`.
    pub origin: String,
    from_file: bool,
}

impl CallValues {
    /// The values of the plugin's own inputs a call sends: the scenario file's `[inputs]`,
    /// each replaced by an `--input` of the same name, then the other `--input`s in order (an
    /// input given twice on the command line stays twice, for the check to name).
    pub fn own_inputs(&self, file: &ScenarioFile, path: &Path) -> anyhow::Result<Vec<Given>> {
        let origin = format!("{} [inputs]", path.display());
        let mut given: Vec<Given> = file
            .inputs()?
            .into_iter()
            .map(|(name, value)| Given {
                name,
                value,
                origin: origin.clone(),
                from_file: true,
            })
            .collect();
        for s in &self.inputs {
            let flag = Given {
                name: s.name.clone(),
                value: s.value,
                origin: format!("--input {}", s.name),
                from_file: false,
            };
            match given.iter_mut().find(|g| g.from_file && g.name == s.name) {
                Some(from_file) => *from_file = flag,
                None => given.push(flag),
            }
        }
        Ok(given)
    }

    /// The `parameters` of a request.
    pub fn parameters(&self) -> Vec<pb::ParameterValue> {
        self.params
            .iter()
            .map(|p| pb::ParameterValue {
                name: p.name.clone(),
                value: p.value,
            })
            .collect()
    }
}

/// The `inputs` of a scenario.
pub fn input_values(given: &[Given]) -> Vec<pb::InputValue> {
    given
        .iter()
        .map(|g| pb::InputValue {
            name: g.name.clone(),
            value: g.value,
        })
        .collect()
}

/// The resource name of a plugin given as `ID`, `ID@BUILD`, `plugins/ID` or `plugins/ID@BUILD`.
pub fn plugin_name(plugin: &str) -> String {
    let plugin = plugin.trim();
    if plugin.starts_with("plugins/") {
        plugin.to_owned()
    } else {
        format!("plugins/{plugin}")
    }
}

/// The plugin `name` as the server describes it.
pub async fn get_plugin(
    client: &mut ScoringServiceClient<Conn>,
    name: &str,
) -> anyhow::Result<pb::Plugin> {
    Ok(client
        .get_plugin(pb::GetPluginRequest {
            name: name.to_owned(),
        })
        .await
        .map_err(explain)
        .with_context(|| format!("asking the server for {name}"))?
        .into_inner())
}

/// The inputs a plugin declares itself, in its order.
fn own_inputs(plugin: &pb::Plugin) -> impl Iterator<Item = &pb::PluginInput> {
    plugin.inputs.iter().filter(|i| i.plugin_declared)
}

/// Whether the server checks a call's values against this plugin's schema: a plugin that
/// cannot score is refused for that before its values are looked at.
fn schema_applies(plugin: &pb::Plugin) -> bool {
    [pb::PluginState::Ready, pb::PluginState::Retained]
        .into_iter()
        .any(|s| plugin.state == s as i32)
}

/// What the server would refuse in a call's values for the plugin's own inputs and its
/// parameters, in the server's words, each after where the value was given. An own input
/// named `swept` (a sweep's axis) counts as set.
pub fn problems(
    plugin: &pb::Plugin,
    inputs: &[Given],
    params: &[Setting],
    swept: Option<&str>,
) -> Vec<String> {
    if !schema_applies(plugin) {
        return Vec::new();
    }
    let id = &plugin.id;
    let mut out = Vec::new();
    // As the server: a name given once is `set` (its value, if out of range, is named for
    // that), and a required input that is not set is reported unset.
    let mut set: Vec<&str> = Vec::new();
    for g in inputs {
        let said = match own_inputs(plugin).find(|d| d.name == g.name) {
            None => format!(
                "`{}` is not an input of plugins/{id}: {}",
                g.name,
                declared_inputs(plugin)
            ),
            Some(_) if set.contains(&g.name.as_str()) => format!("`{}` is given twice", g.name),
            Some(d) => {
                set.push(&d.name);
                if within(g.value, d.min, d.max) {
                    continue;
                }
                format!(
                    "`{}` must be between {} and {}, got {}",
                    g.name, d.min, d.max, g.value
                )
            }
        };
        out.push(format!("{}: {said}", g.origin));
    }
    for d in own_inputs(plugin).filter(|d| d.required) {
        if !set.contains(&d.name.as_str()) && swept != Some(d.name.as_str()) {
            out.push(format!(
                "scenario: `{}` ({}, {} to {}) is required by plugins/{id} and not set \
                 (give --input {}=VALUE)",
                d.name, d.unit, d.min, d.max, d.name
            ));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for p in params {
        let said = match plugin.parameters.iter().find(|d| d.name == p.name) {
            None if plugin.parameters.is_empty() => {
                format!("`{}`: plugins/{id} has no parameters", p.name)
            }
            None => format!(
                "`{}` is not a parameter of plugins/{id}; its parameters are {}",
                p.name,
                names(plugin.parameters.iter().map(|d| d.name.as_str()))
            ),
            Some(_) if seen.contains(&p.name.as_str()) => format!("`{}` is given twice", p.name),
            Some(d) => {
                seen.push(&d.name);
                if within(p.value, d.min, d.max) {
                    continue;
                }
                format!(
                    "`{}` must be between {} and {}, got {}",
                    p.name, d.min, d.max, p.value
                )
            }
        };
        out.push(format!("--param {}: {said}", p.name));
    }
    out
}

/// What the server would refuse in a sweep's axis over the plugin's own input `name`, from
/// `from` to `to`, in its words.
pub fn axis_problems(plugin: &pb::Plugin, name: &str, from: f64, to: f64) -> Vec<String> {
    if !schema_applies(plugin) {
        return Vec::new();
    }
    let id = &plugin.id;
    let Some(d) = own_inputs(plugin).find(|d| d.name == name) else {
        let said = if own_inputs(plugin).next().is_none() {
            format!("`{name}`: plugins/{id} declares no inputs of its own (sweep a lever)")
        } else {
            format!(
                "`{name}` is not an input of plugins/{id}; its own inputs are {}",
                names(own_inputs(plugin).map(|d| d.name.as_str()))
            )
        };
        return vec![format!(
            "--lever {name}: {said}; the levers are {}",
            crate::sweep::LEVERS
        )];
    };
    [("--from", from), ("--to", to)]
        .into_iter()
        .filter(|(_, value)| !within(*value, d.min, d.max))
        .map(|(flag, value)| {
            format!(
                "{flag}: `{name}` must be between {} and {}, got {value}",
                d.min, d.max
            )
        })
        .collect()
}

/// Fails, listing `problems`, unless there are none: the call is then not sent.
pub fn refuse(plugin: &pb::Plugin, problems: Vec<String>) -> anyhow::Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let mut text = format!(
        "{} would refuse this call (INVALID_ARGUMENT), so it was not sent:",
        plugin.name
    );
    for p in &problems {
        text.push_str("\n  ");
        text.push_str(p);
    }
    text.push_str(&format!(
        "\n(`leverage plugin describe {}` lists its inputs and parameters)",
        plugin.name
    ));
    Err(anyhow::anyhow!(text))
}

/// The server's test of a value against a declared range: finite and within it.
fn within(value: f64, min: f64, max: f64) -> bool {
    value.is_finite() && value >= min && value <= max
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(", ")
}

/// The names of the inputs a plugin declares itself, as the server says them.
fn declared_inputs(plugin: &pb::Plugin) -> String {
    if own_inputs(plugin).next().is_none() {
        "it declares no inputs of its own".to_owned()
    } else {
        format!(
            "its own inputs are {}",
            names(own_inputs(plugin).map(|d| d.name.as_str()))
        )
    }
}

/// Named values (`parameters` of a result or of a sweep's first message) as `a = 1, b = 2`.
pub fn named_values(values: &[pb::NamedValue]) -> String {
    values
        .iter()
        .map(|v| format!("{} = {}", v.name, v.value))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Named values as JSON objects; an input derived from the dataset also names its `source`.
fn named_json(values: &[pb::NamedValue]) -> Vec<serde_json::Value> {
    values
        .iter()
        .map(|x| {
            let mut value = json!({"name": x.name, "value": x.value, "unit": x.unit});
            if !x.source.is_empty() {
                value["source"] = json!(x.source);
            }
            value
        })
        .collect()
}

/// `leverage score`: one scenario file, with `--input` and `--param` values, scored by one
/// plugin.
pub async fn score(
    c: &Connection,
    plugin: &str,
    path: &Path,
    values: &CallValues,
) -> anyhow::Result<()> {
    let file = ScenarioFile::read(path)?;
    let mut scenario = file.to_proto()?;
    let given = values.own_inputs(&file, path)?;
    let name = plugin_name(plugin);
    let mut client = ScoringServiceClient::new(channel(c).await?).compressed(c.compression);
    let schema = get_plugin(&mut client, &name).await?;
    refuse(&schema, problems(&schema, &given, &values.params, None))?;
    scenario.inputs = input_values(&given);
    let r = client
        .score_scenario(pb::ScoreScenarioRequest {
            plugin: name,
            scenario: Some(scenario),
            parameters: values.parameters(),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .result
        .context("no result")?;
    // The plugin's own inputs come last among the inputs a result lists.
    let own: Vec<pb::NamedValue> = r
        .inputs
        .iter()
        .filter(|i| own_inputs(&schema).any(|d| d.name == i.name))
        .cloned()
        .collect();
    if c.json {
        let value = json!({
            "plugin": r.plugin, "version": r.plugin_version, "build": r.build_id,
            "plugin_build": r.plugin_build, "dataset": r.dataset_version,
            "score": r.score, "unit": r.score_unit,
            "components": named_json(&r.components.iter().map(|x| pb::NamedValue { name: x.name.clone(), value: x.value, unit: x.unit.clone(), source: String::new() }).collect::<Vec<_>>()),
            "inputs": named_json(&r.inputs),
            "parameters": named_json(&r.parameters),
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let build = if r.plugin_build.is_empty() {
        String::new()
    } else {
        format!(", build {}", r.plugin_build)
    };
    println!(
        "{}: {:.2} {} ({} {}{build}, dataset {})",
        r.plugin, r.score, r.score_unit, r.plugin_version, r.build_id, r.dataset_version
    );
    let body: Vec<Vec<String>> = r
        .components
        .iter()
        .map(|x| vec![x.name.clone(), format!("{:.2}", x.value), x.unit.clone()])
        .collect();
    table(&["component", "value", "unit"], &body);
    // Inputs and parameters exactly as used (shortest form that reads back as the same value).
    let exact = |list: &[pb::NamedValue]| -> Vec<Vec<String>> {
        list.iter()
            .map(|x| vec![x.name.clone(), x.value.to_string(), x.unit.clone()])
            .collect()
    };
    if !own.is_empty() {
        println!();
        table(&["own input", "value", "unit"], &exact(&own));
    }
    if !r.parameters.is_empty() {
        println!();
        table(&["parameter", "value", "unit"], &exact(&r.parameters));
    }
    Ok(())
}

/// `leverage plugin describe`: a plugin's schema and its model card, as GetPlugin gives them.
pub async fn describe(c: &Connection, plugin: &str) -> anyhow::Result<()> {
    let mut client = ScoringServiceClient::new(channel(c).await?).compressed(c.compression);
    let p = get_plugin(&mut client, &plugin_name(plugin)).await?;
    let state = pb::PluginState::try_from(p.state)
        .map(|s| {
            s.as_str_name()
                .trim_start_matches("PLUGIN_STATE_")
                .to_owned()
        })
        .unwrap_or_else(|_| p.state.to_string());
    let catalog: Vec<&pb::PluginInput> = p.inputs.iter().filter(|i| !i.plugin_declared).collect();
    let own: Vec<&pb::PluginInput> = own_inputs(&p).collect();
    if c.json {
        let value = json!({
            "name": p.name, "id": p.id, "display_name": p.display_name, "version": p.version,
            "description": p.description, "state": state, "state_reason": p.state_reason,
            "build": p.build, "build_id": p.build_id, "abi_version": p.abi_version,
            "plugin_api_version": p.plugin_api_version, "rustc_version": p.rustc_version,
            "file": p.file, "sandboxed": p.sandboxed, "inline": p.inline,
            "catalog_inputs": catalog.iter().map(|i| json!({"name": i.name, "unit": i.unit, "description": i.description})).collect::<Vec<_>>(),
            "own_inputs": own.iter().map(|i| json!({
                "name": i.name, "unit": i.unit, "description": i.description,
                "min": i.min, "max": i.max, "required": i.required,
                "default": (!i.required).then_some(i.default_value),
            })).collect::<Vec<_>>(),
            "parameters": p.parameters.iter().map(|x| json!({
                "name": x.name, "unit": x.unit, "description": x.description,
                "min": x.min, "max": x.max, "value": x.default_value,
            })).collect::<Vec<_>>(),
            "components": p.components.iter().map(|x| json!({
                "name": x.name, "unit": x.unit, "description": x.description, "min": x.min, "max": x.max,
            })).collect::<Vec<_>>(),
            "score": {"unit": p.score_unit, "min": p.score_min, "max": p.score_max, "description": p.score_description},
            "builds": p.builds.iter().map(|b| json!({
                "name": b.name, "build": b.build, "version": b.version, "build_id": b.build_id,
                "current": b.current, "first_loaded": b.first_loaded,
            })).collect::<Vec<_>>(),
            "model_card": p.model_card,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    println!(
        "{}: {} (version {}, {state})",
        p.name, p.display_name, p.version
    );
    if !p.state_reason.is_empty() {
        println!("  why: {}", p.state_reason);
    }
    if !p.description.is_empty() {
        println!("  {}", p.description);
    }
    let build = if p.build.is_empty() { "-" } else { &p.build };
    println!(
        "  build {build} ({}), ABI {}, plugin API {}, {}",
        p.build_id, p.abi_version, p.plugin_api_version, p.rustc_version
    );
    println!("  file {}", p.file);
    println!(
        "  score: {} in [{}, {}]: {}",
        p.score_unit, p.score_min, p.score_max, p.score_description
    );
    let range = |min: f64, max: f64| format!("{min} to {max}");
    section(
        "catalog inputs (the scenario's levers and figures of the dataset)",
        &["name", "unit", "description"],
        catalog
            .iter()
            .map(|i| vec![i.name.clone(), i.unit.clone(), i.description.clone()])
            .collect(),
    );
    section(
        "own inputs (--input NAME=VALUE, or the scenario file's [inputs])",
        &["name", "unit", "range", "default", "description"],
        own.iter()
            .map(|i| {
                let default = if i.required {
                    "required".to_owned()
                } else {
                    i.default_value.to_string()
                };
                let (name, unit) = (i.name.clone(), i.unit.clone());
                vec![
                    name,
                    unit,
                    range(i.min, i.max),
                    default,
                    i.description.clone(),
                ]
            })
            .collect(),
    );
    section(
        "parameters (--param NAME=VALUE, for one call)",
        &["name", "unit", "range", "value", "description"],
        p.parameters
            .iter()
            .map(|x| {
                let value = x.default_value.to_string();
                let (name, unit) = (x.name.clone(), x.unit.clone());
                vec![
                    name,
                    unit,
                    range(x.min, x.max),
                    value,
                    x.description.clone(),
                ]
            })
            .collect(),
    );
    section(
        "components",
        &["name", "unit", "range", "description"],
        p.components
            .iter()
            .map(|x| {
                let (name, unit) = (x.name.clone(), x.unit.clone());
                vec![name, unit, range(x.min, x.max), x.description.clone()]
            })
            .collect(),
    );
    if !p.builds.is_empty() {
        section(
            "builds",
            &["name", "version", "build id", "first loaded", ""],
            p.builds
                .iter()
                .map(|b| {
                    let current = if b.current { "current" } else { "retained" };
                    let (name, version) = (b.name.clone(), b.version.clone());
                    vec![
                        name,
                        version,
                        b.build_id.clone(),
                        b.first_loaded.clone(),
                        current.to_owned(),
                    ]
                })
                .collect(),
        );
    }
    println!("\nmodel card:");
    if p.model_card.trim().is_empty() {
        println!("none (the plugin carries no model card)");
    } else {
        // The plugin's markdown as it wrote it: readable as it is in a terminal.
        print!("{}", p.model_card);
        if !p.model_card.ends_with('\n') {
            println!();
        }
    }
    Ok(())
}

/// A titled table after a blank line; `none` when it has no rows.
fn section(title: &str, header: &[&str], rows: Vec<Vec<String>>) {
    println!("\n{title}:");
    if rows.is_empty() {
        println!("none");
    } else {
        table(header, &rows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escrow() -> pb::Plugin {
        let own = |name: &str, required| pb::PluginInput {
            name: name.into(),
            unit: "0..1".into(),
            plugin_declared: true,
            min: 0.0,
            max: 1.0,
            required,
            default_value: if required { 0.0 } else { 0.5 },
            ..Default::default()
        };
        pb::Plugin {
            name: "plugins/escrow".into(),
            id: "escrow".into(),
            state: pb::PluginState::Ready as i32,
            inputs: vec![
                pb::PluginInput {
                    name: "pool.eur_bn".into(),
                    ..Default::default()
                },
                own("escrow.share", true),
                own("escrow.enforcement", false),
            ],
            parameters: vec![pb::PluginParameter {
                name: "weight".into(),
                min: 0.0,
                max: 1.0,
                default_value: 0.6,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn flag(name: &str, value: f64) -> Given {
        Given {
            name: name.into(),
            value,
            origin: format!("--input {name}"),
            from_file: false,
        }
    }

    #[test]
    fn settings_read_name_equals_number() {
        let s: Setting = "escrow.share=0.4".parse().unwrap();
        assert_eq!((s.name.as_str(), s.value), ("escrow.share", 0.4));
        assert!("escrow.share".parse::<Setting>().is_err());
        assert!("=1".parse::<Setting>().is_err());
        let e = "weight=high".parse::<Setting>().unwrap_err();
        assert!(e.contains("\"high\"") && e.contains("weight"), "{e}");
    }

    #[test]
    fn plugin_names_pass_through_builds() {
        assert_eq!(plugin_name("escrow"), "plugins/escrow");
        assert_eq!(plugin_name("plugins/escrow@0a1b"), "plugins/escrow@0a1b");
        assert_eq!(plugin_name("escrow@0a1b"), "plugins/escrow@0a1b");
    }

    #[test]
    fn every_problem_is_named_where_it_was_given() {
        let p = escrow();
        assert!(problems(&p, &[flag("escrow.share", 1.0)], &[], None).is_empty());
        let found = problems(
            &p,
            &[
                flag("escrow.shares", 0.1),
                flag("escrow.enforcement", 2.0),
                flag("escrow.enforcement", 0.2),
            ],
            &[
                Setting {
                    name: "wieght".into(),
                    value: 0.1,
                },
                Setting {
                    name: "weight".into(),
                    value: f64::NAN,
                },
            ],
            None,
        );
        assert_eq!(
            found,
            [
                "--input escrow.shares: `escrow.shares` is not an input of plugins/escrow: its \
                 own inputs are escrow.share, escrow.enforcement",
                "--input escrow.enforcement: `escrow.enforcement` must be between 0 and 1, got 2",
                "--input escrow.enforcement: `escrow.enforcement` is given twice",
                "scenario: `escrow.share` (0..1, 0 to 1) is required by plugins/escrow and not \
                 set (give --input escrow.share=VALUE)",
                "--param wieght: `wieght` is not a parameter of plugins/escrow; its parameters \
                 are weight",
                "--param weight: `weight` must be between 0 and 1, got NaN",
            ]
        );
        // As the server does, a required input given out of range is named once, for its value.
        assert_eq!(
            problems(&p, &[flag("escrow.share", 2.0)], &[], None),
            ["--input escrow.share: `escrow.share` must be between 0 and 1, got 2"]
        );
        // A swept input counts as set; a plugin that cannot score is left to the server.
        assert!(problems(&p, &[], &[], Some("escrow.share")).is_empty());
        let refused = pb::Plugin {
            state: pb::PluginState::Refused as i32,
            ..p
        };
        assert!(problems(&refused, &[flag("x", 1.0)], &[], None).is_empty());
    }
}
