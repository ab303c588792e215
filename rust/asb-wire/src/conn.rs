//! A connection to one node: connect with a timeout, read whole protos, info commands,
//! login.

use std::io::{self, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::admin;
use crate::error::{WireError, WireErrorKind, WireResult};
use crate::proto::{self, parse_proto_header, proto_header, TYPE_ADMIN, TYPE_INFO};

/// Who we are on a cluster with security (Enterprise); Community answers 51, which counts
/// as "no login needed".
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    pub user: String,
    /// bcrypt of the password with the clients' fixed salt ([`admin::hash_password`]).
    pub credential: String,
    /// Sent as well for external (LDAP) authentication.
    pub clear_password: Option<String>,
}

/// TLS for a connection: the shared configuration and the name a node's certificate must
/// carry (`--tls-name`, or a seed's `host:tls-name:port`); without one, each node's own host.
#[derive(Clone, Debug)]
pub struct Tls {
    pub config: Arc<rustls::ClientConfig>,
    pub name: Option<String>,
}

impl Tls {
    /// The name the certificate of the node at `addr` (`host:port`, `[v6]:port`) must carry.
    pub fn name_for(&self, addr: &str) -> String {
        self.name.clone().unwrap_or_else(|| {
            addr.rsplit_once(':')
                .map_or(addr, |(h, _)| h)
                .trim_matches(['[', ']'])
                .to_string()
        })
    }
}

#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// 0 is taken as 1 ms (a connect needs some timeout).
    pub connect_timeout: Duration,
    /// 0 = none. Applies to every read and write.
    pub socket_timeout: Duration,
    pub credentials: Option<Credentials>,
    pub tls: Option<Tls>,
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions {
            connect_timeout: Duration::from_secs(10),
            socket_timeout: Duration::from_secs(10),
            credentials: None,
            tls: None,
        }
    }
}

/// A blocked read wakes this often to look at its [`ReadLimits`]: a stop request or a
/// deadline is acted on within one tick, whatever the node sends.
const READ_TICK: Duration = Duration::from_millis(100);

/// What ends a read from the client side, besides the socket timeout.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadLimits<'a> {
    /// Whole-operation deadline (`--total-timeout`).
    pub deadline: Option<Instant>,
    /// Set from another thread (Ctrl-C) to stop.
    pub cancel: Option<&'a AtomicBool>,
}

impl ReadLimits<'_> {
    fn check(&self) -> WireResult<()> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(WireError::new(WireErrorKind::Cancelled, "interrupted"));
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(WireError::new(
                WireErrorKind::TotalTimeout,
                "the scan ran past --total-timeout",
            ));
        }
        Ok(())
    }
}

/// A socket, plain or under TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

pub struct Connection {
    reader: BufReader<Stream>,
    addr: String,
    /// How long a read may see no byte before the node counts as silent (None: forever).
    socket_timeout: Option<Duration>,
}

impl Connection {
    pub fn open(addr: &str, opts: &ConnectOptions) -> WireResult<Connection> {
        let fail = |e: io::Error| WireError::from_io(&e, "cannot connect").at(addr);
        let mut last = None;
        let mut stream = None;
        for sa in addr.to_socket_addrs().map_err(fail)? {
            match TcpStream::connect_timeout(
                &sa,
                opts.connect_timeout.max(Duration::from_millis(1)),
            ) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match stream {
            Some(s) => s,
            None => {
                let e =
                    last.unwrap_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"));
                return Err(
                    WireError::new(WireErrorKind::Connect, format!("cannot connect: {e}")).at(addr),
                );
            }
        };
        let _ = stream.set_nodelay(true);
        let timeout = (!opts.socket_timeout.is_zero()).then_some(opts.socket_timeout);
        stream.set_read_timeout(timeout).map_err(fail)?;
        stream.set_write_timeout(timeout).map_err(fail)?;
        let stream = match &opts.tls {
            None => Stream::Plain(stream),
            Some(tls) => {
                let tls_name = tls.name_for(addr);
                let name =
                    rustls::pki_types::ServerName::try_from(tls_name.clone()).map_err(|e| {
                        WireError::new(
                            WireErrorKind::Connect,
                            format!("TLS name {tls_name:?}: {e}"),
                        )
                        .at(addr)
                    })?;
                let client =
                    rustls::ClientConnection::new(tls.config.clone(), name).map_err(|e| {
                        WireError::new(WireErrorKind::Connect, format!("TLS: {e}")).at(addr)
                    })?;
                let mut s = rustls::StreamOwned::new(client, stream);
                // The handshake now, so a bad certificate is reported as such.
                while s.conn.is_handshaking() {
                    s.conn.complete_io(&mut s.sock).map_err(|e| {
                        let kind = if e.kind() == io::ErrorKind::InvalidData {
                            WireErrorKind::Protocol
                        } else {
                            WireErrorKind::Connect
                        };
                        WireError::new(kind, crate::tls::handshake_error(&e, &tls_name)).at(addr)
                    })?;
                }
                Stream::Tls(Box::new(s))
            }
        };
        // From here on reads tick (see read_exact), the socket timeout counted across ticks.
        let tcp = match &stream {
            Stream::Plain(s) => s,
            Stream::Tls(s) => &s.sock,
        };
        tcp.set_read_timeout(Some(READ_TICK)).map_err(fail)?;
        let mut conn = Connection {
            reader: BufReader::with_capacity(256 * 1024, stream),
            addr: addr.to_string(),
            socket_timeout: timeout,
        };
        if let Some(c) = &opts.credentials {
            conn.login(c)?;
        }
        Ok(conn)
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    pub fn send(&mut self, msg: &[u8]) -> WireResult<()> {
        let s = self.reader.get_mut();
        s.write_all(msg)
            .and_then(|_| s.flush())
            .map_err(|e| WireError::from_io(&e, "sending a request").at(&self.addr))
    }

    /// Reads one proto: its type and its body into `body` (reused).
    pub fn read_proto(&mut self, body: &mut Vec<u8>) -> WireResult<u8> {
        self.read_proto_within(body, ReadLimits::default())
    }

    /// [`Connection::read_proto`], stopping early (between any two bytes) when `limits` say so.
    pub fn read_proto_within(
        &mut self,
        body: &mut Vec<u8>,
        limits: ReadLimits<'_>,
    ) -> WireResult<u8> {
        limits.check().map_err(|e| e.at(&self.addr))?;
        let mut head = [0u8; 8];
        self.read_exact(&mut head, limits)?;
        let (kind, size) = parse_proto_header(head).map_err(|e| e.at(&self.addr))?;
        body.clear();
        body.resize(size, 0);
        self.read_exact(body, limits)?;
        Ok(kind)
    }

    /// Fills `buf`, waking every READ_TICK to look at `limits`; a node that sends nothing
    /// for the socket timeout is a timeout, as a plain blocking read would say.
    fn read_exact(&mut self, buf: &mut [u8], limits: ReadLimits<'_>) -> WireResult<()> {
        let mut filled = 0;
        let mut last_byte = Instant::now();
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => {
                    let e = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the node closed the connection",
                    );
                    return Err(WireError::from_io(&e, "reading the answer").at(&self.addr));
                }
                Ok(n) => {
                    filled += n;
                    last_byte = Instant::now();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    limits.check().map_err(|e| e.at(&self.addr))?;
                    if self
                        .socket_timeout
                        .is_some_and(|t| last_byte.elapsed() >= t)
                    {
                        return Err(WireError::from_io(&e, "reading the answer").at(&self.addr));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(WireError::from_io(&e, "reading the answer").at(&self.addr)),
            }
        }
        Ok(())
    }

    /// Runs info commands; answers in request order, each without its echoed name.
    pub fn info(&mut self, commands: &[&str]) -> WireResult<Vec<String>> {
        let mut req = Vec::new();
        for c in commands {
            req.extend_from_slice(c.as_bytes());
            req.push(b'\n');
        }
        let mut msg = proto_header(TYPE_INFO, req.len()).to_vec();
        msg.extend_from_slice(&req);
        self.send(&msg)?;
        let mut body = Vec::new();
        let kind = self.read_proto(&mut body)?;
        if kind != TYPE_INFO {
            return Err(WireError::protocol(format!(
                "an info request was answered with a message of type {kind}"
            ))
            .at(&self.addr));
        }
        parse_info_reply(&body, commands).map_err(|e| e.at(&self.addr))
    }

    fn login(&mut self, c: &Credentials) -> WireResult<()> {
        let msg = admin::login_message(&c.user, &c.credential, c.clear_password.as_deref());
        self.send(&msg)?;
        let mut body = Vec::new();
        let kind = self.read_proto(&mut body)?;
        if kind != TYPE_ADMIN {
            return Err(WireError::protocol(format!(
                "a login was answered with a message of type {kind}"
            ))
            .at(&self.addr));
        }
        let reply = admin::parse_reply(&body).map_err(|e| e.at(&self.addr))?;
        match reply.result {
            0 => {
                // A session token authenticates this connection from now on.
                if let Some(token) = reply.session_token {
                    let auth = admin::authenticate_message(&c.user, &token);
                    self.send(&auth)?;
                    let kind = self.read_proto(&mut body)?;
                    let r = admin::parse_reply(&body).map_err(|e| e.at(&self.addr))?;
                    if kind != TYPE_ADMIN || !matches!(r.result, 0 | 51 | 52) {
                        return Err(
                            WireError::server(r.result, "authentication failed").at(&self.addr)
                        );
                    }
                }
                Ok(())
            }
            // Community Edition (51) and Enterprise without security (52).
            51 | 52 => Ok(()),
            code => Err(WireError::server(code, "login failed").at(&self.addr)),
        }
    }
}

/// Splits an info reply (`<command>\t<value>\n` per command) into values, in order.
pub fn parse_info_reply(body: &[u8], commands: &[&str]) -> WireResult<Vec<String>> {
    let text = String::from_utf8_lossy(body);
    let mut out = Vec::with_capacity(commands.len());
    for line in text.split('\n').filter(|l| !l.is_empty()) {
        let value = match line.split_once('\t') {
            Some((_, v)) => v,
            None => "",
        };
        out.push(value.to_string());
    }
    if out.len() < commands.len() {
        return Err(WireError::protocol(format!(
            "{} info command(s) sent, {} answered",
            commands.len(),
            out.len()
        )));
    }
    Ok(out)
}

impl proto::MsgHeader {
    pub fn is_last(&self) -> bool {
        self.info3 & proto::INFO3_LAST != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_reply_values_in_request_order() {
        let body = b"build\t8.1.2.0\nnamespaces\ttest;bar\n";
        let v = parse_info_reply(body, &["build", "namespaces"]).unwrap();
        assert_eq!(v, ["8.1.2.0", "test;bar"]);
        assert!(parse_info_reply(b"build\t8.1.2.0\n", &["build", "node"]).is_err());
    }

    #[test]
    fn tls_name_is_the_given_one_else_each_nodes_host() {
        let config = crate::tls::client_config(&crate::tls::TlsOptions::default()).unwrap();
        let mut tls = Tls { config, name: None };
        assert_eq!(tls.name_for("db1.example:4333"), "db1.example");
        assert_eq!(tls.name_for("[::1]:4333"), "::1");
        assert_eq!(tls.name_for("10.0.0.7:4333"), "10.0.0.7");
        tls.name = Some("cluster.example".into());
        assert_eq!(tls.name_for("10.0.0.7:4333"), "cluster.example");
    }
}
