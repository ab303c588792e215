//! TLS for connections to nodes (rustls), from the C tools' `--tls-*` settings.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, SupportedCipherSuite};

use crate::error::{WireError, WireErrorKind, WireResult};

/// The `--tls-*` options, as files and words.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    pub cafile: Option<PathBuf>,
    pub capath: Option<PathBuf>,
    /// Client certificate chain and key (mutual TLS).
    pub certfile: Option<PathBuf>,
    pub keyfile: Option<PathBuf>,
    /// Space- or comma-separated protocol names (`TLSv1.2 TLSv1.3`, `all`, `+TLSv1.3`).
    pub protocols: Option<String>,
    /// Colon-separated cipher suites, OpenSSL's names or IANA's.
    pub cipher_suites: Option<String>,
    /// Check the node's certificate (`crl_check`) or its whole chain (`crl_check_all`)
    /// against the CRLs in `capath`.
    pub crl_check: bool,
    pub crl_check_all: bool,
}

fn bad(message: impl Into<String>) -> WireError {
    WireError::new(WireErrorKind::Connect, message)
}

fn read_pem_certs(path: &Path, flag: &str) -> WireResult<Vec<CertificateDer<'static>>> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(format!("{flag} {}: {e}", path.display())))?
        .collect();
    let certs = certs.map_err(|e| bad(format!("{flag} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(bad(format!(
            "{flag} {}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}

fn files_in(dir: &Path) -> WireResult<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| bad(format!("--tls-capath {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    Ok(out)
}

fn is_crl_name(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.ends_with(".crl")
        || name.rsplit_once('.').is_some_and(|(_, ext)| {
            ext.starts_with('r') && ext[1..].chars().all(|c| c.is_ascii_digit()) && ext.len() > 1
        })
}

/// OpenSSL's names of the suites rustls offers, beside IANA's.
const OPENSSL_NAMES: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    ("TLS_AES_128_GCM_SHA256", "TLS13_AES_128_GCM_SHA256"),
    ("TLS_AES_256_GCM_SHA384", "TLS13_AES_256_GCM_SHA384"),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS13_CHACHA20_POLY1305_SHA256",
    ),
];

fn suite_name(s: &SupportedCipherSuite) -> String {
    format!("{:?}", s.suite())
}

fn pick_suites(all: &[SupportedCipherSuite], spec: &str) -> WireResult<Vec<SupportedCipherSuite>> {
    let mut out = Vec::new();
    for word in spec
        .split([':', ',', ' '])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let iana = OPENSSL_NAMES
            .iter()
            .find(|(o, _)| o.eq_ignore_ascii_case(word))
            .map(|(_, i)| *i)
            .unwrap_or(word);
        match all
            .iter()
            .find(|s| suite_name(s).eq_ignore_ascii_case(iana))
        {
            Some(s) => out.push(*s),
            None => {
                let known: Vec<String> = all.iter().map(suite_name).collect();
                return Err(bad(format!(
                    "--tls-cipher-suite: {word} is not one of the suites spoken here ({})",
                    known.join(", ")
                )));
            }
        }
    }
    if out.is_empty() {
        return Err(bad("--tls-cipher-suite names no suite"));
    }
    Ok(out)
}

fn pick_versions(spec: &str) -> WireResult<Vec<&'static rustls::SupportedProtocolVersion>> {
    let (mut v12, mut v13) = (false, false);
    for word in spec
        .split([',', ' '])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let (on, name) = match word.as_bytes()[0] {
            b'+' => (true, &word[1..]),
            b'-' => (false, &word[1..]),
            _ => (true, word),
        };
        match name.to_ascii_lowercase().as_str() {
            "all" => (v12, v13) = (on, on),
            "tlsv1.2" => v12 = on,
            "tlsv1.3" => v13 = on,
            "sslv3" | "tlsv1" | "tlsv1.1" if !on => {}
            "sslv3" | "tlsv1" | "tlsv1.1" => {
                return Err(bad(format!("--tls-protocols {name}: only TLSv1.2 and TLSv1.3 are spoken (older ones are broken)")))
            }
            other => return Err(bad(format!("--tls-protocols: unknown protocol {other:?} (TLSv1.2, TLSv1.3, all)"))),
        }
    }
    let mut out = Vec::new();
    if v12 {
        out.push(&rustls::version::TLS12);
    }
    if v13 {
        out.push(&rustls::version::TLS13);
    }
    if out.is_empty() {
        return Err(bad("--tls-protocols leaves no protocol"));
    }
    Ok(out)
}

/// A client configuration for every connection of a run.
pub fn client_config(o: &TlsOptions) -> WireResult<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    let mut crls: Vec<CertificateRevocationListDer<'static>> = Vec::new();
    if let Some(f) = &o.cafile {
        for c in read_pem_certs(f, "--tls-cafile")? {
            roots
                .add(c)
                .map_err(|e| bad(format!("--tls-cafile {}: {e}", f.display())))?;
        }
    }
    if let Some(dir) = &o.capath {
        for p in files_in(dir)? {
            if is_crl_name(&p) {
                let list: Result<Vec<_>, _> = CertificateRevocationListDer::pem_file_iter(&p)
                    .map_err(|e| bad(format!("--tls-capath {}: {e}", p.display())))?
                    .collect();
                crls.extend(list.map_err(|e| bad(format!("--tls-capath {}: {e}", p.display())))?);
            } else if let Ok(certs) = read_pem_certs(&p, "--tls-capath") {
                for c in certs {
                    let _ = roots.add(c);
                }
            }
        }
    }
    if o.cafile.is_none() && o.capath.is_none() {
        let found = rustls_native_certs::load_native_certs();
        for c in found.certs {
            let _ = roots.add(c);
        }
    }
    if roots.is_empty() {
        return Err(bad(
            "TLS: no CA certificate to check the nodes with: give --tls-cafile or --tls-capath",
        ));
    }
    let mut provider: CryptoProvider = rustls::crypto::ring::default_provider();
    if let Some(spec) = &o.cipher_suites {
        provider.cipher_suites = pick_suites(&provider.cipher_suites, spec)?;
    }
    let provider = Arc::new(provider);
    let versions = match &o.protocols {
        Some(p) => pick_versions(p)?,
        None => vec![&rustls::version::TLS12, &rustls::version::TLS13],
    };
    let roots = Arc::new(roots);
    let mut verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone());
    if o.crl_check || o.crl_check_all {
        if crls.is_empty() {
            return Err(bad(
                "--tls-crl-check needs CRL files (*.crl, *.r0) in --tls-capath",
            ));
        }
        verifier = verifier.with_crls(crls);
        if !o.crl_check_all {
            verifier = verifier.only_check_end_entity_revocation();
        }
    }
    let verifier = verifier.build().map_err(|e| bad(format!("TLS: {e}")))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)
        .map_err(|e| bad(format!("TLS: {e}")))?
        .with_webpki_verifier(verifier);
    let config = match (&o.certfile, &o.keyfile) {
        (Some(cert), Some(key)) => {
            let chain = read_pem_certs(cert, "--tls-certfile")?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                bad(format!(
                    "--tls-keyfile {}: {e} (an encrypted key is not read here: decrypt it, e.g. openssl pkey -in KEY -out PLAIN)",
                    key.display()
                ))
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad(format!("--tls-certfile/--tls-keyfile: {e}")))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(bad(
                "mutual TLS needs both --tls-certfile and --tls-keyfile",
            ))
        }
    };
    Ok(Arc::new(config))
}

/// What a failed handshake means, in words a user can act on.
pub fn handshake_error(e: &io::Error, name: &str) -> String {
    let text = e.to_string();
    if text.contains("UnknownIssuer") || text.contains("BadSignature") {
        format!("TLS: the node's certificate is not signed by a CA given (--tls-cafile/--tls-capath): {text}")
    } else if text.contains("NotValidForName") || text.contains("not valid for name") {
        format!("TLS: the node's certificate is not for the name {name:?} (--tls-name, or host:tls-name:port): {text}")
    } else if text.contains("Revoked") {
        format!("TLS: the node's certificate is revoked (--tls-crl-check): {text}")
    } else {
        format!("TLS handshake failed: {text}")
    }
}
