//! The handshake's messages: INIT (host → worker) and DESCRIBED (worker → host), and the build
//! information that REFUSED carries too.
//!
//! CONFIGURE and READY carry one string and nothing, and are written where they are sent.

use leverage_plugin_api::PluginMetadata;
use leverage_plugin_api::info::{ComponentInfo, InputInfo, OwnInputInfo, ParameterInfo};

use super::frame::{Reader, WireError, Writer, malformed, tag};
use crate::error::BuildInfo;

/// Bumped by any change to the frames of this protocol. The host and the worker are the same binary in
/// production, but a worker command could point at another build.
pub(crate) const PROTOCOL: u32 = 3;

/// The INIT frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Init {
    pub(crate) host_pid: u32,
    /// RLIMIT_AS in bytes; 0 for none.
    pub(crate) memory_limit: u64,
    /// RLIMIT_CPU in seconds; 0 for none.
    pub(crate) cpu_limit_secs: u64,
    pub(crate) catalog: Vec<String>,
}

impl Init {
    pub(crate) fn encode(&self, buf: &mut Vec<u8>) {
        let mut w = Writer::frame(buf, tag::INIT);
        w.u32(PROTOCOL)
            .u32(self.host_pid)
            .u64(self.memory_limit)
            .u64(self.cpu_limit_secs)
            .strs(&self.catalog);
        w.finish();
    }

    pub(crate) fn decode(payload: &[u8]) -> Result<Init, WireError> {
        let mut r = Reader::new(payload);
        let protocol = r.u32("protocol")?;
        if protocol != PROTOCOL {
            return Err(malformed(format!(
                "the host speaks sandbox protocol {protocol}, this worker {PROTOCOL}"
            )));
        }
        let init = Init {
            host_pid: r.u32("host pid")?,
            memory_limit: r.u64("memory limit")?,
            cpu_limit_secs: r.u64("cpu limit")?,
            catalog: r.strs("catalog")?,
        };
        r.end("init")?;
        Ok(init)
    }
}

pub(super) fn put_build(w: &mut Writer<'_>, build: &BuildInfo) {
    w.u32(u32::from(build.abi_major))
        .u32(u32::from(build.abi_minor))
        .str(&build.api_version)
        .str(&build.rustc_version)
        .u32(build.panic_strategy);
}

pub(super) fn get_build(r: &mut Reader<'_>) -> Result<BuildInfo, WireError> {
    Ok(BuildInfo {
        abi_major: r.u16("abi major")?,
        abi_minor: r.u16("abi minor")?,
        api_version: r.str("api version")?,
        rustc_version: r.str("rustc version")?,
        panic_strategy: r.u32("panic strategy")?,
    })
}

fn put_component(w: &mut Writer<'_>, c: &ComponentInfo) {
    w.str(&c.name)
        .str(&c.unit)
        .str(&c.description)
        .f64(c.min)
        .f64(c.max);
}

fn get_component(r: &mut Reader<'_>) -> Result<ComponentInfo, WireError> {
    Ok(ComponentInfo {
        name: r.str("component name")?,
        unit: r.str("component unit")?,
        description: r.str("component description")?,
        min: r.f64("component min")?,
        max: r.f64("component max")?,
    })
}

/// The DESCRIBED frame.
pub(crate) fn encode_described(buf: &mut Vec<u8>, build: &BuildInfo, m: &PluginMetadata) {
    let mut w = Writer::frame(buf, tag::DESCRIBED);
    put_build(&mut w, build);
    w.str(&m.id)
        .str(&m.name)
        .str(&m.version)
        .str(&m.description)
        .str(&m.build_id);
    w.u32(m.inputs.len() as u32);
    for input in &m.inputs {
        w.str(&input.name).str(&input.unit);
    }
    w.u32(m.components.len() as u32);
    for component in &m.components {
        put_component(&mut w, component);
    }
    put_component(&mut w, &m.score);
    w.u32(m.parameters.len() as u32);
    for p in &m.parameters {
        w.str(&p.name)
            .str(&p.unit)
            .str(&p.description)
            .f64(p.default)
            .f64(p.min)
            .f64(p.max);
    }
    w.u32(m.own_inputs.len() as u32);
    for input in &m.own_inputs {
        w.str(&input.name)
            .str(&input.unit)
            .str(&input.description)
            .f64(input.min)
            .f64(input.max)
            .u32(u32::from(input.default.is_some()))
            .f64(input.default.unwrap_or(f64::NAN));
    }
    w.str(&m.model_card);
    w.finish();
}

pub(crate) fn decode_described(payload: &[u8]) -> Result<(BuildInfo, PluginMetadata), WireError> {
    let mut r = Reader::new(payload);
    let build = get_build(&mut r)?;
    let id = r.str("id")?;
    let name = r.str("name")?;
    let version = r.str("version")?;
    let description = r.str("description")?;
    let build_id = r.str("build id")?;
    let n = r.count("inputs")?;
    let inputs = (0..n)
        .map(|_| {
            Ok(InputInfo {
                name: r.str("input name")?,
                unit: r.str("input unit")?,
            })
        })
        .collect::<Result<_, WireError>>()?;
    let n = r.count("components")?;
    let components = (0..n)
        .map(|_| get_component(&mut r))
        .collect::<Result<_, _>>()?;
    let score = get_component(&mut r)?;
    let n = r.count("parameters")?;
    let parameters = (0..n)
        .map(|_| {
            Ok(ParameterInfo {
                name: r.str("parameter name")?,
                unit: r.str("parameter unit")?,
                description: r.str("parameter description")?,
                default: r.f64("parameter default")?,
                min: r.f64("parameter min")?,
                max: r.f64("parameter max")?,
            })
        })
        .collect::<Result<_, WireError>>()?;
    let n = r.count("own inputs")?;
    let own_inputs = (0..n)
        .map(|_| {
            let name = r.str("own input name")?;
            let unit = r.str("own input unit")?;
            let description = r.str("own input description")?;
            let min = r.f64("own input min")?;
            let max = r.f64("own input max")?;
            let has_default = r.u32("own input has default")? != 0;
            let default = r.f64("own input default")?;
            Ok(OwnInputInfo {
                name,
                unit,
                description,
                min,
                max,
                default: has_default.then_some(default),
            })
        })
        .collect::<Result<_, WireError>>()?;
    let model_card = r.str("model card")?;
    r.end("described")?;
    let metadata = PluginMetadata {
        id,
        name,
        version,
        description,
        build_id,
        inputs,
        own_inputs,
        components,
        score,
        parameters,
        model_card,
    };
    Ok((build, metadata))
}

/// A build, for tests of the frames that carry one.
#[cfg(test)]
pub(super) fn sample_build() -> BuildInfo {
    BuildInfo {
        abi_major: 1,
        abi_minor: 0,
        api_version: "0.1.0".to_owned(),
        rustc_version: "rustc 1.95.0".to_owned(),
        panic_strategy: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::payload;

    #[test]
    fn init_round_trips() {
        let init = Init {
            host_pid: 42,
            memory_limit: 1 << 30,
            cpu_limit_secs: 600,
            catalog: vec!["a".to_owned(), "b.c".to_owned()],
        };
        let mut buf = Vec::new();
        init.encode(&mut buf);
        let (tag, body) = payload(&buf);
        assert_eq!(tag, tag::INIT);
        assert_eq!(Init::decode(&body), Ok(init));
    }

    #[test]
    fn metadata_round_trips() {
        let component = |name: &str| ComponentInfo {
            name: name.to_owned(),
            unit: "u".to_owned(),
            description: "d".to_owned(),
            min: -1.5,
            max: 2.5,
        };
        let metadata = PluginMetadata {
            id: "m".to_owned(),
            name: "M".to_owned(),
            version: "1".to_owned(),
            description: "é".to_owned(),
            build_id: "b".to_owned(),
            inputs: vec![InputInfo {
                name: "x".to_owned(),
                unit: "y".to_owned(),
            }],
            own_inputs: vec![
                OwnInputInfo {
                    name: "escrow.share".to_owned(),
                    unit: "0..1".to_owned(),
                    description: "d".to_owned(),
                    min: 0.0,
                    max: 1.0,
                    default: None,
                },
                OwnInputInfo {
                    name: "cap".to_owned(),
                    unit: "USD".to_owned(),
                    description: String::new(),
                    min: 30.0,
                    max: 90.0,
                    default: Some(47.6),
                },
            ],
            components: vec![component("c1"), component("c2")],
            score: component("score"),
            parameters: vec![ParameterInfo {
                name: "p".to_owned(),
                unit: String::new(),
                description: String::new(),
                default: 0.5,
                min: 0.0,
                max: 1.0,
            }],
            model_card: "# M\n\n| input | source |\n|---|---|\n| x | é |\n".to_owned(),
        };
        let mut buf = Vec::new();
        encode_described(&mut buf, &sample_build(), &metadata);
        let (tag, body) = payload(&buf);
        assert_eq!(tag, tag::DESCRIBED);
        assert_eq!(decode_described(&body), Ok((sample_build(), metadata)));
    }
}
