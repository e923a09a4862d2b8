//! TLS and mutual TLS, with certificates made in the test.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use std::time::Duration;

use leverage_e2e::{Options, TestServer};
use leverage_proto::leverage::v1 as pb;
use leverage_proto::leverage::v1::dataset_service_client::DatasetServiceClient;
use leverage_server::TlsSettings;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
    stranger: (String, String),
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf = |name: &str, issuer: &CertifiedIssuer<'_, KeyPair>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let mut other_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    other_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let other_ca =
        CertifiedIssuer::self_signed(other_params, KeyPair::generate().unwrap()).unwrap();
    Pki {
        ca: ca.pem(),
        server: leaf("localhost", &ca),
        client: leaf("analyst", &ca),
        stranger: leaf("stranger", &other_ca),
    }
}

async fn connect(
    server: &TestServer,
    tls: Option<ClientTlsConfig>,
) -> Result<Channel, tonic::transport::Error> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Channel::from_shared(format!("{scheme}://localhost:{}", server.addr.port()))
        .unwrap()
        .connect_timeout(Duration::from_secs(5));
    if let Some(tls) = tls {
        endpoint = endpoint.tls_config(tls).unwrap();
    }
    endpoint.connect().await
}

async fn works(channel: Result<Channel, tonic::transport::Error>) -> bool {
    match channel {
        Ok(c) => DatasetServiceClient::new(c)
            .get_dataset_info(pb::GetDatasetInfoRequest {})
            .await
            .is_ok(),
        Err(_) => false,
    }
}

#[tokio::test]
async fn tls_serves_clients_that_trust_the_ca_and_refuses_plain_text() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsSettings {
        cert_pem: pki.server.0.clone().into_bytes(),
        key_pem: pki.server.1.clone().into_bytes(),
        client_ca_pem: None,
    };
    let server = TestServer::start_with(
        dir.path(),
        Options {
            tls: Some(tls),
            ..Options::default()
        },
    )
    .await;
    let trusted = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    assert!(works(connect(&server, Some(trusted)).await).await);
    assert!(
        !works(connect(&server, None).await).await,
        "plain text is refused"
    );
}

#[tokio::test]
async fn mutual_tls_needs_a_client_certificate_from_the_ca() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsSettings {
        cert_pem: pki.server.0.clone().into_bytes(),
        key_pem: pki.server.1.clone().into_bytes(),
        client_ca_pem: Some(pki.ca.clone().into_bytes()),
    };
    let server = TestServer::start_with(
        dir.path(),
        Options {
            tls: Some(tls),
            ..Options::default()
        },
    )
    .await;
    let base = || {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&pki.ca))
            .domain_name("localhost")
    };
    let with = |(cert, key): &(String, String)| base().identity(Identity::from_pem(cert, key));
    assert!(
        works(connect(&server, Some(with(&pki.client))).await).await,
        "a client of the CA is served"
    );
    assert!(
        !works(connect(&server, Some(base())).await).await,
        "no client certificate: refused"
    );
    assert!(
        !works(connect(&server, Some(with(&pki.stranger))).await).await,
        "another CA's client: refused"
    );
}
