//! The PostgreSQL store over TLS, against a real server that accepts TLS connections only: with
//! `sslmode=require` it connects when it trusts the server's certificate authority (given by
//! `SSL_CERT_FILE`, as the deploying guide says for a private CA) and refuses a server it cannot
//! verify; plain text is refused by the server. One test in its own binary, since the trusted
//! authorities are read from the process's environment.

#![allow(clippy::unwrap_used)] // Test code: a panic is a failed test.

use leverage_core::Dataset;
use leverage_store::{Datastore, Repository, StoreError, StoreLocation};
use leverage_test_postgres::Cluster;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

fn open(url: &str) -> Result<std::sync::Arc<dyn Datastore>, StoreError> {
    leverage_store::open(&StoreLocation::Postgres(url.to_owned()))
}

#[test]
fn with_sslmode_require_the_store_connects_over_tls_to_a_server_it_can_verify_and_no_other() {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let Some(cluster) = Cluster::start_tls(&server.pem(), &key.serialize_pem()) else {
        return;
    };
    let url = cluster.create_database();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.pem()).unwrap();

    // Not trusting the authority: TLS is attempted and the server refused, an error not a panic.
    // SAFETY: this binary's only test, before any thread of its own reads the environment.
    unsafe { std::env::set_var("SSL_CERT_FILE", dir.path().join("none.pem")) };
    let refused = open(&format!("{url}?sslmode=require")).unwrap_err();
    assert!(matches!(refused, StoreError::Unavailable(_)), "{refused:?}");
    // Plain text: the server accepts TLS only.
    unsafe { std::env::set_var("SSL_CERT_FILE", &ca_file) };
    assert!(open(&format!("{url}?sslmode=disable")).is_err());

    // Trusting it: the whole store works over TLS.
    let store = open(&format!("{url}?sslmode=require")).unwrap();
    let (repo, _) = Repository::open_store(store, &Dataset::embedded().unwrap()).unwrap();
    assert_eq!(repo.store().head().unwrap(), 1);
    assert_eq!(repo.snapshot().revision(), 1);
    assert!(!repo.snapshot().dataset().holdings.is_empty());
}
