//! The admin protocol's login and authenticate messages (proto type 2).
//!
//! `proto | scheme 0, result, command, n_fields, 12 zero bytes | fields`, each field
//! `u32 BE (len + 1) | id | bytes`.

use crate::error::{WireError, WireResult};
use crate::proto::{proto_header, TYPE_ADMIN};

pub const AUTHENTICATE: u8 = 0;
pub const LOGIN: u8 = 20;
pub const FIELD_USER: u8 = 0;
pub const FIELD_CREDENTIAL: u8 = 3;
pub const FIELD_CLEAR_PASSWORD: u8 = 4;
pub const FIELD_SESSION_TOKEN: u8 = 5;
pub const FIELD_SESSION_TTL: u8 = 6;
const HEADER_LEN: usize = 16;

/// The salt every Aerospike client uses (aerospike-common `as_password.c`).
pub const BCRYPT_SALT: &str = "$2a$10$7EqJtq98hPqEX7fNZaFWoO";

fn message(command: u8, fields: &[(u8, &[u8])]) -> Vec<u8> {
    let body_len = HEADER_LEN + fields.iter().map(|(_, d)| 5 + d.len()).sum::<usize>();
    let mut out = proto_header(TYPE_ADMIN, body_len).to_vec();
    out.extend_from_slice(&[0, 0, command, fields.len() as u8]);
    out.extend_from_slice(&[0; 12]);
    for (id, data) in fields {
        out.extend_from_slice(&(data.len() as u32 + 1).to_be_bytes());
        out.push(*id);
        out.extend_from_slice(data);
    }
    out
}

/// LOGIN with user and credential; external (LDAP) login also sends the clear password.
pub fn login_message(user: &str, credential: &str, clear_password: Option<&str>) -> Vec<u8> {
    let mut fields: Vec<(u8, &[u8])> = vec![
        (FIELD_USER, user.as_bytes()),
        (FIELD_CREDENTIAL, credential.as_bytes()),
    ];
    if let Some(p) = clear_password {
        fields.push((FIELD_CLEAR_PASSWORD, p.as_bytes()));
    }
    message(LOGIN, &fields)
}

pub fn authenticate_message(user: &str, token: &[u8]) -> Vec<u8> {
    message(
        AUTHENTICATE,
        &[(FIELD_USER, user.as_bytes()), (FIELD_SESSION_TOKEN, token)],
    )
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct AdminReply {
    pub result: u8,
    pub session_token: Option<Vec<u8>>,
    pub session_ttl: Option<u32>,
}

/// Reads an admin reply body (after the proto header).
pub fn parse_reply(body: &[u8]) -> WireResult<AdminReply> {
    if body.len() < HEADER_LEN {
        return Err(WireError::protocol("an admin reply ends inside its header"));
    }
    let mut reply = AdminReply {
        result: body[1],
        ..AdminReply::default()
    };
    let n_fields = body[3];
    let mut pos = HEADER_LEN;
    for _ in 0..n_fields {
        if body.len() < pos + 5 {
            return Err(WireError::protocol("an admin reply ends inside a field"));
        }
        let len = u32::from_be_bytes(body[pos..pos + 4].try_into().unwrap()) as usize;
        if len == 0 || body.len() < pos + 4 + len {
            return Err(WireError::protocol(
                "an admin reply field runs past its end",
            ));
        }
        let id = body[pos + 4];
        let data = &body[pos + 5..pos + 4 + len];
        match id {
            FIELD_SESSION_TOKEN => reply.session_token = Some(data.to_vec()),
            FIELD_SESSION_TTL if data.len() == 4 => {
                reply.session_ttl = Some(u32::from_be_bytes(data.try_into().unwrap()))
            }
            _ => {}
        }
        pos += 4 + len;
    }
    Ok(reply)
}

/// The credential a client sends: bcrypt of the password, cost 10, the fixed salt, as the
/// 60-character `$2a$10$…` string.
pub fn hash_password(password: &str) -> String {
    let salt = decode_bcrypt_salt(&BCRYPT_SALT[7..]);
    bcrypt::hash_with_salt(password, 10, salt)
        .expect("cost 10 is valid")
        .format_for_version(bcrypt::Version::TwoA)
}

/// bcrypt's own base64 (alphabet `./A-Za-z0-9`, no padding): 22 characters, 16 bytes.
fn decode_bcrypt_salt(text: &str) -> [u8; 16] {
    const ALPHABET: &[u8] = b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bits: u32 = 0;
    let mut n_bits = 0;
    let mut out = [0u8; 16];
    let mut i = 0;
    for c in text.bytes() {
        let v = ALPHABET
            .iter()
            .position(|&a| a == c)
            .expect("salt is bcrypt base64") as u32;
        bits = (bits << 6) | v;
        n_bits += 6;
        if n_bits >= 8 && i < 16 {
            n_bits -= 8;
            out[i] = (bits >> n_bits) as u8;
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_is_bcrypt_of_the_password_with_the_fixed_salt() {
        let c = hash_password("admin");
        assert_eq!(c.len(), 60);
        assert!(c.starts_with(BCRYPT_SALT), "{c}");
        assert!(bcrypt::verify("admin", &c).unwrap());
        assert!(!bcrypt::verify("admin2", &c).unwrap());
        assert!(bcrypt::verify("", &hash_password("")).unwrap());
    }

    #[test]
    fn login_message_layout() {
        let m = login_message("bob", "CRED", None);
        assert_eq!(&m[..2], &[2, 2], "version 2, admin type");
        let size = u64::from_be_bytes(m[..8].try_into().unwrap()) & 0xFFFF_FFFF_FFFF;
        assert_eq!(size as usize, m.len() - 8);
        assert_eq!(&m[8..12], &[0, 0, LOGIN, 2]);
        assert_eq!(&m[12..24], &[0; 12]);
        assert_eq!(&m[24..32], &[0, 0, 0, 4, FIELD_USER, b'b', b'o', b'b']);
        assert_eq!(
            &m[32..41],
            &[0, 0, 0, 5, FIELD_CREDENTIAL, b'C', b'R', b'E', b'D']
        );
        assert_eq!(m.len(), 41);
        let ext = login_message("bob", "CRED", Some("pw"));
        assert_eq!(ext[11], 3);
        assert_eq!(&ext[41..], &[0, 0, 0, 3, FIELD_CLEAR_PASSWORD, b'p', b'w']);
    }

    #[test]
    fn replies_carry_result_token_and_ttl() {
        // Community Edition's fixed reply: result 51, no fields.
        let mut ce = vec![0u8; 16];
        ce[1] = 51;
        assert_eq!(parse_reply(&ce).unwrap().result, 51);
        let mut ok = vec![0u8, 0, 0, 2];
        ok.extend_from_slice(&[0; 12]);
        ok.extend_from_slice(&[0, 0, 0, 4, FIELD_SESSION_TOKEN, 1, 2, 3]);
        ok.extend_from_slice(&[0, 0, 0, 5, FIELD_SESSION_TTL, 0, 0, 0x0e, 0x10]);
        let r = parse_reply(&ok).unwrap();
        assert_eq!(r.session_token.as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(r.session_ttl, Some(3600));
        assert!(parse_reply(&ok[..20]).is_err());
        let auth = authenticate_message("bob", &[1, 2, 3]);
        assert_eq!(auth[10], AUTHENTICATE);
    }
}
