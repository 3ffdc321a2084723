//! Certificates for mutual TLS, made fresh at every start.
//!
//! CityFibre authenticates partners by client certificate, so the simulator does too: a test
//! that passes against it has exercised the same handshake the phone will do in the field.
//! Nothing is read from disk or checked in; [`Pki::generate`] makes a private CA, a server
//! certificate for `localhost`, `127.0.0.1` and `::1`, and one client certificate per engineer
//! (CN = the engineer id). The server maps the DER bytes of each client certificate to its
//! engineer, which is how `pull` knows whose inbox to read without any login.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::SimError;

/// A client certificate and its private key, both PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

impl ClientIdentity {
    /// Key and certificate in one PEM text, the form most HTTP clients take an identity in.
    pub fn identity_pem(&self) -> String {
        format!("{}{}", self.key_pem, self.cert_pem)
    }
}

/// The simulator's certificates: its CA, its server identity and one client per engineer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pki {
    pub ca_cert_pem: String,
    pub server_cert_pem: String,
    pub server_key_pem: String,
    /// Engineer id -> client identity.
    pub clients: BTreeMap<String, ClientIdentity>,
    /// The installation partner's certificate (what the partner hub presents to CityFibre);
    /// signed by this CA, it belongs to no engineer.
    pub partner: ClientIdentity,
    /// CityFibre's own client certificate, presented when the simulator calls the partner
    /// hub (`PartnerCaller`); a hub trusts `ca_cert_pem` for it.
    pub cityfibre: ClientIdentity,
}

const CA_NAME: &str = "Jobpack CityFibre simulator CA";

impl Pki {
    /// CA, a server cert for `localhost` and 127.0.0.1 / ::1, one client cert per engineer id
    /// (CN = engineer id).
    pub fn generate(engineers: &[String]) -> Result<Pki, SimError> {
        if engineers.is_empty() {
            return Err(SimError::NoEngineers);
        }
        let mut seen = std::collections::BTreeSet::new();
        for engineer in engineers {
            check_engineer_id(engineer)?;
            if !seen.insert(engineer.as_str()) {
                return Err(SimError::DuplicateEngineer(engineer.clone()));
            }
        }
        let (ca_cert_pem, ca) = make_ca(CA_NAME)?;

        let server_key = KeyPair::generate()?;
        let mut server = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])?;
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &ca)?;

        let clients = engineers
            .iter()
            .map(|engineer| Ok((engineer.clone(), make_client(engineer, &ca)?)))
            .collect::<Result<_, SimError>>()?;
        Ok(Pki {
            ca_cert_pem,
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            clients,
            partner: make_client("installation-partner", &ca)?,
            cityfibre: make_client("cityfibre-gateway", &ca)?,
        })
    }

    /// Writes `ca.pem`, and for each engineer `client-<id>.pem` and `client-<id>.key`; the
    /// first engineer (in id order) also as `client.pem` / `client.key`; the partner's and
    /// CityFibre's identities as `partner.pem`/`.key` and `cityfibre.pem`/`.key`.
    pub fn write_to_dir(&self, dir: &Path) -> Result<(), SimError> {
        std::fs::create_dir_all(dir).map_err(|source| SimError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        write_file(&dir.join("ca.pem"), &self.ca_cert_pem, false)?;
        for (index, (engineer, identity)) in self.clients.iter().enumerate() {
            write_file(
                &dir.join(format!("client-{engineer}.pem")),
                &identity.cert_pem,
                false,
            )?;
            write_file(
                &dir.join(format!("client-{engineer}.key")),
                &identity.key_pem,
                true,
            )?;
            if index == 0 {
                write_file(&dir.join("client.pem"), &identity.cert_pem, false)?;
                write_file(&dir.join("client.key"), &identity.key_pem, true)?;
            }
        }
        for (name, identity) in [("partner", &self.partner), ("cityfibre", &self.cityfibre)] {
            write_file(&dir.join(format!("{name}.pem")), &identity.cert_pem, false)?;
            write_file(&dir.join(format!("{name}.key")), &identity.key_pem, true)?;
        }
        Ok(())
    }

    /// A client identity signed by a different, unknown CA (for tests of TLS refusal).
    pub fn foreign_client(engineer: &str) -> Result<ClientIdentity, SimError> {
        check_engineer_id(engineer)?;
        let (_, foreign_ca) = make_ca("Somebody else's CA")?;
        make_client(engineer, &foreign_ca)
    }

    /// The server side of mutual TLS: our identity, client certificates required and checked
    /// against our CA, HTTP/1.1 only.
    pub(crate) fn server_tls_config(&self) -> Result<rustls::ServerConfig, SimError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(parse_cert(&self.ca_cert_pem, "CA")?)?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| SimError::Tls(e.to_string()))?;
        let chain = vec![parse_cert(&self.server_cert_pem, "server")?];
        let key = PrivateKeyDer::from_pem_slice(self.server_key_pem.as_bytes())
            .map_err(|e| SimError::Tls(format!("server key: {e}")))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// DER bytes of each client certificate -> engineer id.
    pub(crate) fn engineer_by_certificate(&self) -> Result<BTreeMap<Vec<u8>, String>, SimError> {
        self.clients
            .iter()
            .map(|(engineer, identity)| {
                let der = parse_cert(&identity.cert_pem, engineer)?;
                Ok((der.as_ref().to_vec(), engineer.clone()))
            })
            .collect()
    }
}

fn make_ca(name: &str) -> Result<(String, Issuer<'static, KeyPair>), SimError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), Issuer::new(params, key)))
}

fn make_client(engineer: &str, ca: &Issuer<'_, KeyPair>) -> Result<ClientIdentity, SimError> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, engineer);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, ca)?;
    Ok(ClientIdentity {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

fn parse_cert(pem: &str, what: &str) -> Result<CertificateDer<'static>, SimError> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| SimError::Tls(format!("{what} certificate: {e}")))
}

/// Engineer ids name files and appear in certificates, so they are kept to a safe alphabet.
fn check_engineer_id(engineer: &str) -> Result<(), SimError> {
    let ok = (1..=64).contains(&engineer.len())
        && engineer
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(SimError::BadEngineerId(engineer.to_owned()))
    }
}

fn write_file(path: &Path, text: &str, secret: bool) -> Result<(), SimError> {
    let err = |source| SimError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::write(path, text).map_err(err)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_per_engineer_and_distinct_certificates() {
        let engineers = vec!["E001".to_owned(), "E002".to_owned()];
        let pki = Pki::generate(&engineers).expect("pki");
        assert_eq!(pki.clients.len(), 2);
        let map = pki.engineer_by_certificate().expect("map");
        assert_eq!(map.len(), 2);
        assert!(map.values().any(|e| e == "E002"));
        assert!(pki.server_tls_config().is_ok());
    }

    #[test]
    fn engineer_ids_are_checked() {
        assert!(matches!(Pki::generate(&[]), Err(SimError::NoEngineers)));
        assert!(matches!(
            Pki::generate(&["../x".to_owned()]),
            Err(SimError::BadEngineerId(_))
        ));
        assert!(matches!(
            Pki::generate(&["E1".to_owned(), "E1".to_owned()]),
            Err(SimError::DuplicateEngineer(_))
        ));
    }

    #[test]
    fn files_are_written() {
        let dir = std::env::temp_dir().join(format!("jobpack-sim-certs-{}", std::process::id()));
        let pki = Pki::generate(&["E001".to_owned(), "E002".to_owned()]).expect("pki");
        pki.write_to_dir(&dir).expect("write");
        for name in [
            "ca.pem",
            "client.pem",
            "client.key",
            "client-E001.pem",
            "client-E001.key",
            "client-E002.pem",
            "client-E002.key",
            "partner.pem",
            "partner.key",
            "cityfibre.key",
        ] {
            assert!(dir.join(name).is_file(), "{name} missing");
        }
        let first = std::fs::read_to_string(dir.join("client.pem")).expect("read");
        assert_eq!(first, pki.clients["E001"].cert_pem);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
