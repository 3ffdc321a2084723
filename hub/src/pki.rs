//! The hub's certificate authority: the server identity both listeners present, and one client
//! certificate per phone (or back-office desk), which the hub can revoke.
//!
//! Why a CA of our own and a table of devices: the TLS handshake refuses anything the hub CA
//! did not sign (an unknown CA never reaches HTTP), and every request then looks the leaf's
//! SHA-256 up in `devices`: a certificate the CA signed but the table does not know (a
//! database restored from an older backup), or one revoked, is refused with a typed error. A
//! revocation takes effect on the next request, with no CRL to distribute and no restart.
//!
//! The CA key lives in the hub's directory (`ca.key`, mode 0600); phones never see it. The CA
//! is re-loaded from its key and its name: rcgen derives the issuer's key identifier from the
//! public key, so certificates issued after a restart chain to the same `ca.pem`.

use std::path::Path;
use std::sync::Arc;

use crate::sql::{Tx, args, first};
use jobpack_core::protocol::Timestamp;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::HubError;
use crate::error::file_error;

const CA_NAME: &str = "Jobpack partner hub CA";

/// A certificate and its key, PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The hub CA and the hub's server identity.
pub struct HubPki {
    pub ca_cert_pem: String,
    ca_key: KeyPair,
    pub server: Identity,
}

impl std::fmt::Debug for HubPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubPki").finish_non_exhaustive()
    }
}

fn ca_params() -> Result<CertificateParams, HubError> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(params)
}

impl HubPki {
    /// Loads `ca.pem`/`ca.key`/`server.pem`/`server.key` from `dir`, creating what is missing
    /// (a new CA makes a new server certificate). The server certificate names `localhost`,
    /// `127.0.0.1`, `::1` and `extra_names`.
    pub fn load_or_create(dir: &Path, extra_names: &[String]) -> Result<HubPki, HubError> {
        std::fs::create_dir_all(dir).map_err(file_error(dir))?;
        let (ca_cert, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
        let (ca_cert_pem, ca_key, fresh) = if ca_key.is_file() && ca_cert.is_file() {
            let key_pem = std::fs::read_to_string(&ca_key).map_err(file_error(&ca_key))?;
            let cert_pem = std::fs::read_to_string(&ca_cert).map_err(file_error(&ca_cert))?;
            (cert_pem, KeyPair::from_pem(&key_pem)?, false)
        } else {
            let key = KeyPair::generate()?;
            let cert = ca_params()?.self_signed(&key)?;
            write(&ca_key, &key.serialize_pem(), true)?;
            write(&ca_cert, &cert.pem(), false)?;
            (cert.pem(), key, true)
        };
        let mut pki = HubPki {
            ca_cert_pem,
            ca_key,
            server: Identity {
                cert_pem: String::new(),
                key_pem: String::new(),
            },
        };
        let (server_cert, server_key) = (dir.join("server.pem"), dir.join("server.key"));
        pki.server = if !fresh && server_cert.is_file() && server_key.is_file() {
            Identity {
                cert_pem: std::fs::read_to_string(&server_cert)
                    .map_err(file_error(&server_cert))?,
                key_pem: std::fs::read_to_string(&server_key).map_err(file_error(&server_key))?,
            }
        } else {
            let identity = pki.issue_server(extra_names)?;
            write(&server_key, &identity.key_pem, true)?;
            write(&server_cert, &identity.cert_pem, false)?;
            identity
        };
        Ok(pki)
    }

    fn issuer(&self) -> Result<Issuer<'static, &KeyPair>, HubError> {
        Ok(Issuer::new(ca_params()?, &self.ca_key))
    }

    fn issue_server(&self, extra_names: &[String]) -> Result<Identity, HubError> {
        let mut names = vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        names.extend(extra_names.iter().cloned());
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "jobpack hub");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer()?)?;
        Ok(Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A client certificate with common name `name`.
    pub fn issue_client(&self, name: &str) -> Result<Identity, HubError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &self.issuer()?)?;
        Ok(Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A TLS server configuration with the hub's identity that requires a client certificate
    /// signed by one of `client_anchors_pem` (the hub CA for phones, CityFibre's CA for the
    /// CityFibre side). HTTP/1.1 only.
    pub fn server_config(
        &self,
        client_anchors_pem: &str,
    ) -> Result<rustls::ServerConfig, HubError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(client_anchors_pem.as_bytes()) {
            let cert = cert.map_err(|e| HubError::Tls(format!("client trust anchors: {e}")))?;
            roots.add(cert)?;
        }
        if roots.is_empty() {
            return Err(HubError::Tls("no client trust anchor certificate".into()));
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| HubError::Tls(e.to_string()))?;
        let chain = CertificateDer::pem_slice_iter(self.server.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| HubError::Tls(format!("server certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(self.server.key_pem.as_bytes())
            .map_err(|e| HubError::Tls(format!("server key: {e}")))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), HubError> {
    std::fs::write(path, text).map_err(file_error(path))?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(file_error(path))?;
    }
    #[cfg(not(unix))]
    let _ = secret;
    Ok(())
}

/// SHA-256 of a certificate's DER bytes, hex: how a device is known.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fingerprint of the first certificate in `pem`.
pub fn fingerprint_pem(pem: &str) -> Result<String, HubError> {
    let der = CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|e| HubError::Certificate(e.to_string()))?;
    Ok(fingerprint(der.as_ref()))
}

/// What a device certificate may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An engineer's phone: pull and push for that engineer's jobs.
    Device,
    /// The back office: dispatch.
    Office,
}

impl Role {
    fn sql(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::Office => "office",
        }
    }
}

/// Who is calling, as the `devices` table says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub device_id: String,
    pub engineer_id: Option<String>,
    pub role: Role,
}

/// Why a TLS-verified certificate is still refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceRefusal {
    #[error("this certificate was not issued to any device of this hub")]
    Unknown,
    #[error("device {device_id} was revoked")]
    Revoked { device_id: String },
}

/// Issues a certificate for `device_id` and records it. A device is an engineer's phone
/// (`engineer` set) or a back-office desk (`Role::Office`, no engineer).
pub fn issue_device(
    conn: &dyn Tx,
    pki: &HubPki,
    device_id: &str,
    engineer: Option<&str>,
    role: Role,
) -> Result<Identity, HubError> {
    let ok = (1..=64).contains(&device_id.len())
        && device_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        return Err(HubError::Invalid {
            field: "device",
            reason: format!("{device_id:?} must be 1-64 letters, digits, _ or -"),
        });
    }
    if let Some(engineer) = engineer {
        let known: Option<i64> = first(
            conn,
            "SELECT 1 FROM engineers WHERE engineer_id = ?1",
            args![engineer],
        )?;
        if known.is_none() {
            return Err(HubError::UnknownEngineer(engineer.to_owned()));
        }
    }
    if role == Role::Device && engineer.is_none() {
        return Err(HubError::Invalid {
            field: "engineer",
            reason: "a device certificate belongs to an engineer".into(),
        });
    }
    // Checked before inserting (a failed statement would end a PostgreSQL transaction); a
    // concurrent issue of the same id loses on the primary key and is run again, then sees it.
    let exists: Option<i64> = first(
        conn,
        "SELECT 1 FROM devices WHERE device_id = ?1",
        args![device_id],
    )?;
    if exists.is_some() {
        return Err(HubError::Invalid {
            field: "device",
            reason: format!("device {device_id:?} exists already (revoke it and issue a new id)"),
        });
    }
    let identity = pki.issue_client(device_id)?;
    conn.execute(
        "INSERT INTO devices (device_id, engineer_id, role, fingerprint, issued_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![
            device_id,
            engineer,
            role.sql(),
            fingerprint_pem(&identity.cert_pem)?.as_str(),
            Timestamp::now().unix_millis()
        ],
    )?;
    Ok(identity)
}

/// Revokes a device from now on.
pub fn revoke_device(conn: &dyn Tx, device_id: &str) -> Result<(), HubError> {
    let changed = conn.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?2) WHERE device_id = ?1",
        args![device_id, Timestamp::now().unix_millis()],
    )?;
    if changed == 0 {
        return Err(HubError::UnknownDevice(device_id.to_owned()));
    }
    Ok(())
}

/// The device a verified client certificate (DER) belongs to.
pub fn caller_of(
    conn: &dyn Tx,
    leaf_der: &[u8],
) -> Result<Result<Caller, DeviceRefusal>, HubError> {
    let row: Option<(String, Option<String>, String, Option<i64>)> = conn
        .query_opt(
            "SELECT device_id, engineer_id, role, revoked_at FROM devices WHERE fingerprint = ?1",
            args![fingerprint(leaf_der).as_str()],
        )?
        .map(|r| Ok::<_, HubError>((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .transpose()?;
    Ok(match row {
        None => Err(DeviceRefusal::Unknown),
        Some((device_id, _, _, Some(_))) => Err(DeviceRefusal::Revoked { device_id }),
        Some((device_id, engineer_id, role, None)) => Ok(Caller {
            device_id,
            engineer_id,
            role: if role == "office" {
                Role::Office
            } else {
                Role::Device
            },
        }),
    })
}
