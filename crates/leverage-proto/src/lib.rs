//! Generated gRPC code and the descriptor set of leverage.v1.
//!
//! The contract lives in `proto/leverage/v1/*.proto`; `build.rs` compiles it with protox and
//! generates the messages, the clients (`leverage::v1::asset_service_client::…`) and the
//! server traits (`leverage::v1::asset_service_server::…`).

/// The `leverage` protobuf package.
pub mod leverage {
    /// Version 1 of the API (`leverage.v1`).
    pub mod v1 {
        // Generated code is not ours to lint: a newer clippy must not break the build.
        #![allow(clippy::all, clippy::pedantic, clippy::nursery)]
        tonic::include_proto!("leverage.v1");
    }
}

/// The encoded `google.protobuf.FileDescriptorSet` of every file of `leverage.v1` and the
/// well-known types they import, with source comments: register it with
/// `tonic_reflection::server::Builder::register_encoded_file_descriptor_set`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/leverage_v1_descriptor.bin"));

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use prost::Message;
    use prost_types::{
        DescriptorProto, EnumDescriptorProto, FileDescriptorProto, FileDescriptorSet,
        ServiceDescriptorProto,
    };

    use super::FILE_DESCRIPTOR_SET;

    const PACKAGE: &str = "leverage.v1";

    // Field numbers of the descriptor messages, which make up source-code-info paths.
    const FILE_MESSAGE_TYPE: i32 = 4;
    const FILE_ENUM_TYPE: i32 = 5;
    const FILE_SERVICE: i32 = 6;
    const MESSAGE_FIELD: i32 = 2;
    const MESSAGE_NESTED_TYPE: i32 = 3;
    const MESSAGE_ENUM_TYPE: i32 = 4;
    const MESSAGE_ONEOF_DECL: i32 = 8;
    const ENUM_VALUE: i32 = 2;
    const SERVICE_METHOD: i32 = 2;

    fn descriptor_set() -> FileDescriptorSet {
        FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("the descriptor set decodes")
    }

    fn package_files(set: &FileDescriptorSet) -> Vec<&FileDescriptorProto> {
        set.file.iter().filter(|f| f.package() == PACKAGE).collect()
    }

    /// Every element of a file that must carry a leading comment, by its source-code-info
    /// path, with a readable name for the failure message.
    fn documentable_elements(file: &FileDescriptorProto) -> Vec<(Vec<i32>, String)> {
        let mut out = Vec::new();
        for (i, message) in file.message_type.iter().enumerate() {
            let path = vec![FILE_MESSAGE_TYPE, i as i32];
            message_elements(
                message,
                &path,
                &format!("{PACKAGE}.{}", message.name()),
                &mut out,
            );
        }
        for (i, e) in file.enum_type.iter().enumerate() {
            let path = vec![FILE_ENUM_TYPE, i as i32];
            enum_elements(e, &path, &format!("{PACKAGE}.{}", e.name()), &mut out);
        }
        for (i, service) in file.service.iter().enumerate() {
            let path = vec![FILE_SERVICE, i as i32];
            service_elements(service, &path, &mut out);
        }
        out
    }

    fn message_elements(
        message: &DescriptorProto,
        path: &[i32],
        full_name: &str,
        out: &mut Vec<(Vec<i32>, String)>,
    ) {
        if message.options.as_ref().is_some_and(|o| o.map_entry()) {
            return; // Map entries are synthesized by protoc; the map field carries the doc.
        }
        out.push((path.to_vec(), format!("message {full_name}")));
        for (i, field) in message.field.iter().enumerate() {
            let p = [path, &[MESSAGE_FIELD, i as i32]].concat();
            out.push((p, format!("field {full_name}.{}", field.name())));
        }
        // A proto3 `optional` field lives in a synthetic oneof that has no source of its own.
        let synthetic: Vec<i32> = message
            .field
            .iter()
            .filter(|f| f.proto3_optional())
            .filter_map(|f| f.oneof_index)
            .collect();
        for (i, oneof) in message.oneof_decl.iter().enumerate() {
            if synthetic.contains(&(i as i32)) {
                continue;
            }
            let p = [path, &[MESSAGE_ONEOF_DECL, i as i32]].concat();
            out.push((p, format!("oneof {full_name}.{}", oneof.name())));
        }
        for (i, nested) in message.nested_type.iter().enumerate() {
            let p = [path, &[MESSAGE_NESTED_TYPE, i as i32]].concat();
            message_elements(nested, &p, &format!("{full_name}.{}", nested.name()), out);
        }
        for (i, e) in message.enum_type.iter().enumerate() {
            let p = [path, &[MESSAGE_ENUM_TYPE, i as i32]].concat();
            enum_elements(e, &p, &format!("{full_name}.{}", e.name()), out);
        }
    }

    fn enum_elements(
        e: &EnumDescriptorProto,
        path: &[i32],
        full_name: &str,
        out: &mut Vec<(Vec<i32>, String)>,
    ) {
        out.push((path.to_vec(), format!("enum {full_name}")));
        for (i, value) in e.value.iter().enumerate() {
            let p = [path, &[ENUM_VALUE, i as i32]].concat();
            out.push((p, format!("enum value {full_name}.{}", value.name())));
        }
    }

    fn service_elements(
        service: &ServiceDescriptorProto,
        path: &[i32],
        out: &mut Vec<(Vec<i32>, String)>,
    ) {
        let full_name = format!("{PACKAGE}.{}", service.name());
        out.push((path.to_vec(), format!("service {full_name}")));
        for (i, method) in service.method.iter().enumerate() {
            let p = [path, &[SERVICE_METHOD, i as i32]].concat();
            out.push((p, format!("rpc {full_name}.{}", method.name())));
        }
    }

    /// Leading comments of a file's elements, by path.
    fn leading_comments(file: &FileDescriptorProto) -> HashMap<Vec<i32>, String> {
        file.source_code_info
            .iter()
            .flat_map(|info| &info.location)
            .map(|loc| (loc.path.clone(), loc.leading_comments().trim().to_owned()))
            .collect()
    }

    /// The elements of `leverage.v1` without a non-empty leading comment.
    fn undocumented(set: &FileDescriptorSet) -> Vec<String> {
        let mut missing = Vec::new();
        for file in package_files(set) {
            let comments = leading_comments(file);
            for (path, what) in documentable_elements(file) {
                if comments.get(&path).is_none_or(|c| c.is_empty()) {
                    missing.push(format!("{} ({})", what, file.name()));
                }
            }
        }
        missing
    }

    fn services(set: &FileDescriptorSet) -> Vec<(String, &ServiceDescriptorProto)> {
        package_files(set)
            .into_iter()
            .flat_map(|f| &f.service)
            .map(|s| (format!("{PACKAGE}.{}", s.name()), s))
            .collect()
    }

    #[test]
    fn the_descriptor_set_holds_the_five_services() {
        let set = descriptor_set();
        let names: Vec<String> = services(&set).into_iter().map(|(n, _)| n).collect();
        for expected in [
            "leverage.v1.AssetService",
            "leverage.v1.DatasetService",
            "leverage.v1.LegalRiskService",
            "leverage.v1.DefenceFundingService",
            "leverage.v1.ScoringService",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
    }

    #[test]
    fn the_descriptor_set_resolves_every_import() {
        // Reflection clients fetch imports by file name: each must be in the set.
        let set = descriptor_set();
        let files: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
        for file in &set.file {
            for dependency in &file.dependency {
                assert!(
                    files.contains(&dependency.as_str()),
                    "{} imports {dependency}, which the set lacks",
                    file.name()
                );
            }
        }
    }

    #[test]
    fn every_element_of_the_api_is_documented() {
        let missing = undocumented(&descriptor_set());
        assert!(
            missing.is_empty(),
            "{} elements have no leading comment:\n  {}",
            missing.len(),
            missing.join("\n  ")
        );
    }

    #[test]
    fn an_undocumented_element_is_caught() {
        // Strip the comment of one field and of one enum value: the check must name both.
        let mut set = descriptor_set();
        let file = set
            .file
            .iter_mut()
            .find(|f| f.name() == "leverage/v1/common.proto")
            .expect("common.proto is in the set");
        let info = file.source_code_info.as_mut().expect("source info is kept");
        let money_units = [FILE_MESSAGE_TYPE, 1, MESSAGE_FIELD, 1];
        let bound_exact = [FILE_ENUM_TYPE, 1, ENUM_VALUE, 1];
        for loc in &mut info.location {
            if loc.path == money_units || loc.path == bound_exact {
                loc.leading_comments = None;
            }
        }
        let missing = undocumented(&set);
        assert_eq!(
            missing,
            [
                "field leverage.v1.Money.units (leverage/v1/common.proto)",
                "enum value leverage.v1.Bound.BOUND_EXACT (leverage/v1/common.proto)",
            ]
        );
    }

    #[test]
    fn every_rpc_documents_its_errors() {
        let set = descriptor_set();
        for file in package_files(&set) {
            let comments = leading_comments(file);
            for (path, what) in documentable_elements(file) {
                if what.starts_with("rpc ") {
                    let comment = comments.get(&path).map_or("", String::as_str);
                    assert!(
                        comment.contains("Errors"),
                        "{what} does not list its errors"
                    );
                }
            }
        }
    }

    fn upper_snake(pascal: &str) -> String {
        let mut out = String::new();
        for (i, c) in pascal.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_uppercase());
        }
        out
    }

    #[test]
    fn enum_values_carry_their_prefix_and_an_unspecified_zero() {
        let set = descriptor_set();
        for file in package_files(&set) {
            for e in &file.enum_type {
                let prefix = format!("{}_", upper_snake(e.name()));
                let zero = &e.value[0];
                assert_eq!(
                    zero.number(),
                    0,
                    "{} starts with a non-zero value",
                    e.name()
                );
                assert_eq!(zero.name(), format!("{prefix}UNSPECIFIED"));
                for v in &e.value {
                    assert!(v.name().starts_with(&prefix), "{} lacks {prefix}", v.name());
                }
            }
        }
    }

    #[test]
    fn requests_and_responses_follow_the_standard_names() {
        // buf STANDARD, except where Google's AIPs have standard methods return the resource
        // itself (Get, Create, Update) or google.protobuf.Empty (Delete).
        let set = descriptor_set();
        for (service, s) in services(&set) {
            for m in &s.method {
                let rpc = m.name();
                assert_eq!(
                    m.input_type(),
                    format!(".{PACKAGE}.{rpc}Request"),
                    "{service}.{rpc}"
                );
                let output = m.output_type();
                let standard = format!(".{PACKAGE}.{rpc}Response");
                let resource_method = ["Get", "Create", "Update"].iter().any(|verb| {
                    rpc.starts_with(verb) && output == format!(".{PACKAGE}.{}", &rpc[verb.len()..])
                });
                let aip_delete = rpc.starts_with("Delete") && output == ".google.protobuf.Empty";
                assert!(
                    output == standard || resource_method || aip_delete,
                    "{service}.{rpc} returns {output}"
                );
            }
        }
    }

    #[test]
    fn generated_clients_and_servers_have_stable_paths() {
        use crate::leverage::v1::{
            asset_service_client::AssetServiceClient, asset_service_server::AssetServiceServer,
            dataset_service_client::DatasetServiceClient,
            dataset_service_server::DatasetServiceServer,
            defence_funding_service_client::DefenceFundingServiceClient,
            defence_funding_service_server::DefenceFundingServiceServer,
            legal_risk_service_client::LegalRiskServiceClient,
            legal_risk_service_server::LegalRiskServiceServer,
            scoring_service_client::ScoringServiceClient,
            scoring_service_server::ScoringServiceServer,
        };
        let names = [
            std::any::type_name::<AssetServiceClient<tonic::transport::Channel>>(),
            std::any::type_name::<DatasetServiceClient<tonic::transport::Channel>>(),
            std::any::type_name::<DefenceFundingServiceClient<tonic::transport::Channel>>(),
            std::any::type_name::<LegalRiskServiceClient<tonic::transport::Channel>>(),
            std::any::type_name::<ScoringServiceClient<tonic::transport::Channel>>(),
        ];
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("leverage_proto::leverage::v1::"))
        );
        // The server wrappers exist for every service (checked at compile time).
        fn exists<T>() {}
        exists::<AssetServiceServer<()>>();
        exists::<DatasetServiceServer<()>>();
        exists::<DefenceFundingServiceServer<()>>();
        exists::<LegalRiskServiceServer<()>>();
        exists::<ScoringServiceServer<()>>();
    }
}
