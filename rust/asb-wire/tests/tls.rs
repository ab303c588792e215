//! Scans over TLS against a rustls server on loopback with certificates made here: a good
//! CA and name work; a wrong CA, a wrong name, a missing client certificate, a protocol
//! the server refuses and a revoked certificate are each refused with their reason.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;

use asb_wire::proto::*;
use asb_wire::scan::{run_scan, DecodeOptions, PartitionCursor, ScanLimits, ScanRequest};
use asb_wire::tls::{client_config, TlsOptions};
use asb_wire::{ConnectOptions, Connection, Tls};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

struct Pki {
    /// Removed with the Pki.
    _dir: tempfile::TempDir,
    ca: PathBuf,
    other_ca: PathBuf,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: PrivateKeyDer<'static>,
    client_cert: PathBuf,
    client_key: PathBuf,
    crl_dir: PathBuf,
    ca_der: CertificateDer<'static>,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
}

fn pki() -> Pki {
    let temp = tempfile::Builder::new()
        .prefix("asbkit-tls-")
        .tempdir()
        .unwrap();
    let dir = temp.path().to_path_buf();
    let root = ca("asbkit test CA");
    let other = ca("another CA");
    let server_key = KeyPair::generate().unwrap();
    let mut sp = CertificateParams::new(vec!["node1.test".to_string()]).unwrap();
    sp.serial_number = Some(rcgen::SerialNumber::from(77u64));
    let server = sp.signed_by(&server_key, &root).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["backup-client".to_string()])
        .unwrap()
        .signed_by(&client_key, &root)
        .unwrap();
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ca_path = write("ca.pem", root.pem());
    let other_ca = write("other.pem", other.pem());
    let client_cert = write("client.pem", client.pem());
    let client_key_path = write("client.key", client_key.serialize_pem());
    // A CRL directory: the CA and a list revoking the server's certificate.
    let crl_dir = dir.join("crl");
    std::fs::create_dir_all(&crl_dir).unwrap();
    std::fs::write(crl_dir.join("ca.pem"), root.pem()).unwrap();
    let crl = rcgen::CertificateRevocationListParams {
        this_update: rcgen::date_time_ymd(2024, 1, 1),
        next_update: rcgen::date_time_ymd(2099, 1, 1),
        crl_number: rcgen::SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from(77u64),
            revocation_time: rcgen::date_time_ymd(2024, 6, 1),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    }
    .signed_by(&root)
    .unwrap();
    std::fs::write(crl_dir.join("ca.crl"), crl.pem().unwrap()).unwrap();
    Pki {
        server_chain: vec![server.der().clone()],
        server_key: PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes()).unwrap(),
        ca_der: root.der().clone(),
        _dir: temp,
        ca: ca_path,
        other_ca,
        client_cert,
        client_key: client_key_path,
        crl_dir,
    }
}

/// One connection: TLS handshake, one request read, a canned scan reply.
fn serve(
    pki: &Pki,
    need_client_cert: bool,
    tls13_only: bool,
) -> (String, thread::JoinHandle<bool>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if tls13_only {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12]
    };
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .unwrap();
    let builder = if need_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.ca_der.clone()).unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = Arc::new(
        builder
            .with_single_cert(pki.server_chain.clone(), pki.server_key.clone_key())
            .unwrap(),
    );
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = thread::spawn(move || {
        let (sock, _) = l.accept().unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut s = rustls::StreamOwned::new(conn, sock);
        let mut head = [0u8; 8];
        if s.read_exact(&mut head).is_err() {
            return false;
        }
        let (_, size) = parse_proto_header(head).unwrap();
        let mut body = vec![0; size];
        s.read_exact(&mut body).unwrap();
        let mut rec = MsgBuilder::new(MsgHeader {
            generation: 1,
            ..MsgHeader::default()
        });
        let mut d = [9u8; 20];
        d[..2].copy_from_slice(&3u16.to_le_bytes());
        rec.field(FIELD_NAMESPACE, b"test")
            .field(FIELD_DIGEST, &d)
            .op(OP_READ, 1, b"i", &5i64.to_be_bytes());
        let last = MsgBuilder::new(MsgHeader {
            info3: INFO3_LAST,
            ..MsgHeader::default()
        });
        let msgs = [rec.finish()[8..].to_vec(), last.finish()[8..].to_vec()].concat();
        let mut out = proto_header(TYPE_MSG, msgs.len()).to_vec();
        out.extend_from_slice(&msgs);
        s.write_all(&out).unwrap();
        s.flush().unwrap();
        true
    });
    (addr, h)
}

fn scan(addr: &str, tls: &TlsOptions, name: &str) -> Result<u64, String> {
    let config = client_config(tls).map_err(|e| e.to_string())?;
    let opts = ConnectOptions {
        tls: Some(Tls {
            config,
            name: Some(name.to_string()),
        }),
        ..ConnectOptions::default()
    };
    let mut conn = Connection::open(addr, &opts).map_err(|e| e.to_string())?;
    let req = ScanRequest {
        namespace: b"test".to_vec(),
        partitions: vec![PartitionCursor {
            pid: 3,
            after: None,
        }],
        ..ScanRequest::default()
    };
    let mut n = 0;
    let outcome = run_scan(
        &mut conn,
        &req,
        DecodeOptions::default(),
        ScanLimits::default(),
        &mut |_: &asb_core::Record| {
            n += 1;
            Ok(())
        },
    );
    match outcome.error {
        Some(e) => Err(e.to_string()),
        None => Ok(n),
    }
}

fn with_ca(ca: &Path) -> TlsOptions {
    TlsOptions {
        cafile: Some(ca.to_path_buf()),
        ..TlsOptions::default()
    }
}

#[test]
fn a_scan_goes_through_tls_with_the_right_ca_and_name() {
    let p = pki();
    let (addr, server) = serve(&p, false, false);
    assert_eq!(scan(&addr, &with_ca(&p.ca), "node1.test"), Ok(1));
    assert!(server.join().unwrap());
    // The CA from a directory works the same.
    let (addr, _server) = serve(&p, false, false);
    let by_dir = TlsOptions {
        capath: Some(p.crl_dir.clone()),
        ..TlsOptions::default()
    };
    assert_eq!(scan(&addr, &by_dir, "node1.test"), Ok(1));
}

#[test]
fn a_wrong_ca_or_name_is_refused_in_words() {
    let p = pki();
    let (addr, _s) = serve(&p, false, false);
    let e = scan(&addr, &with_ca(&p.other_ca), "node1.test").unwrap_err();
    assert!(
        e.contains("not signed by a CA given") && e.contains("--tls-cafile"),
        "{e}"
    );
    let (addr, _s) = serve(&p, false, false);
    let e = scan(&addr, &with_ca(&p.ca), "node2.test").unwrap_err();
    assert!(
        e.contains("not for the name \"node2.test\"") && e.contains("--tls-name"),
        "{e}"
    );
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let p = pki();
    let (addr, _s) = serve(&p, true, false);
    assert!(scan(&addr, &with_ca(&p.ca), "node1.test").is_err());
    let (addr, server) = serve(&p, true, false);
    let mtls = TlsOptions {
        certfile: Some(p.client_cert.clone()),
        keyfile: Some(p.client_key.clone()),
        ..with_ca(&p.ca)
    };
    assert_eq!(scan(&addr, &mtls, "node1.test"), Ok(1));
    assert!(server.join().unwrap());
    let half = TlsOptions {
        certfile: Some(p.client_cert.clone()),
        ..with_ca(&p.ca)
    };
    assert!(client_config(&half)
        .unwrap_err()
        .to_string()
        .contains("both --tls-certfile and --tls-keyfile"));
}

#[test]
fn protocols_and_cipher_suites_follow_the_flags() {
    let p = pki();
    // The server speaks only TLS 1.3; a client held to 1.2 cannot agree with it.
    let (addr, _s) = serve(&p, false, true);
    let only12 = TlsOptions {
        protocols: Some("TLSv1.2".into()),
        ..with_ca(&p.ca)
    };
    assert!(scan(&addr, &only12, "node1.test").is_err());
    let (addr, server) = serve(&p, false, true);
    let suite = TlsOptions {
        protocols: Some("-all +TLSv1.3".into()),
        cipher_suites: Some("TLS_AES_256_GCM_SHA384".into()),
        ..with_ca(&p.ca)
    };
    assert_eq!(scan(&addr, &suite, "node1.test"), Ok(1));
    assert!(server.join().unwrap());
    let old = TlsOptions {
        protocols: Some("TLSv1.1".into()),
        ..with_ca(&p.ca)
    };
    assert!(client_config(&old)
        .unwrap_err()
        .to_string()
        .contains("only TLSv1.2 and TLSv1.3"));
    let unknown = TlsOptions {
        cipher_suites: Some("RC4-MD5".into()),
        ..with_ca(&p.ca)
    };
    assert!(client_config(&unknown)
        .unwrap_err()
        .to_string()
        .contains("RC4-MD5"));
    let openssl_name = TlsOptions {
        cipher_suites: Some("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256".into()),
        ..with_ca(&p.ca)
    };
    assert!(client_config(&openssl_name).is_ok());
}

#[test]
fn a_revoked_certificate_is_refused_with_crl_checks() {
    let p = pki();
    let (addr, _s) = serve(&p, false, false);
    let crl = TlsOptions {
        capath: Some(p.crl_dir.clone()),
        crl_check: true,
        ..TlsOptions::default()
    };
    let e = scan(&addr, &crl, "node1.test").unwrap_err();
    assert!(e.contains("revoked"), "{e}");
    let no_crl = TlsOptions {
        crl_check: true,
        ..with_ca(&p.ca)
    };
    assert!(client_config(&no_crl)
        .unwrap_err()
        .to_string()
        .contains("CRL"));
}
