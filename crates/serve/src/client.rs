//! A small HTTP/1.1 keep-alive client over one TCP connection: enough for the tests and
//! the load benchmark, without pulling in a full client crate.

use std::io::{Error as IoError, ErrorKind};
use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A response: status, headers (names lower-cased) and the whole body.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection; reconnects when the server closed it.
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

fn bad(msg: impl Into<String>) -> IoError {
    IoError::new(ErrorKind::InvalidData, msg.into())
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let mut c = Client { addr, conn: None };
        c.conn = Some(c.open().await?);
        Ok(c)
    }

    async fn open(&self) -> std::io::Result<BufReader<TcpStream>> {
        let s = TcpStream::connect(self.addr).await?;
        s.set_nodelay(true)?;
        Ok(BufReader::new(s))
    }

    pub async fn get(&mut self, path: &str) -> std::io::Result<Response> {
        self.request("GET", path, None).await
    }

    pub async fn post(&mut self, path: &str, body: &[u8]) -> std::io::Result<Response> {
        self.request("POST", path, Some(body)).await
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
    ) -> std::io::Result<Response> {
        let body = body.unwrap_or(&[]);
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n",
            self.addr,
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        self.send_raw(&req).await
    }

    /// Writes `bytes` as they are (one request, well-formed or not) and reads a response.
    /// A kept-alive connection the server has since closed (it may close after an error
    /// whose body it did not read) is reopened once.
    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<Response> {
        let (mut conn, reused) = match self.conn.take() {
            Some(c) => (c, true),
            None => (self.open().await?, false),
        };
        let mut sent = exchange(&mut conn, bytes).await;
        if reused && sent.as_ref().is_err_and(closed) {
            conn = self.open().await?;
            sent = exchange(&mut conn, bytes).await;
        }
        let resp = sent?;
        let close = resp
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !close {
            self.conn = Some(conn);
        }
        Ok(resp)
    }
}

async fn exchange(conn: &mut BufReader<TcpStream>, bytes: &[u8]) -> std::io::Result<Response> {
    conn.get_mut().write_all(bytes).await?;
    read_response(conn).await
}

fn closed(e: &IoError) -> bool {
    matches!(
        e.kind(),
        ErrorKind::BrokenPipe
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::UnexpectedEof
    )
}

async fn read_line(r: &mut BufReader<TcpStream>, line: &mut String) -> std::io::Result<()> {
    line.clear();
    if r.read_line(line).await? == 0 {
        return Err(IoError::new(
            ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    Ok(())
}

async fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<Response> {
    let mut line = String::new();
    read_line(r, &mut line).await?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        read_line(r, &mut line).await?;
        let h = line.trim_end();
        if h.is_empty() {
            break;
        }
        let (n, v) = h
            .split_once(':')
            .ok_or_else(|| bad(format!("bad header {h:?}")))?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let mut resp = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if let Some(n) = resp.header("content-length") {
        let n: usize = n.parse().map_err(|_| bad("bad content-length"))?;
        resp.body.resize(n, 0);
        r.read_exact(&mut resp.body).await?;
    } else if resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            read_line(r, &mut line).await?;
            let size = line.trim().split(';').next().unwrap_or("");
            let n = usize::from_str_radix(size, 16).map_err(|_| bad("bad chunk size"))?;
            if n == 0 {
                read_line(r, &mut line).await?; // the blank line after the last chunk
                break;
            }
            let start = resp.body.len();
            resp.body.resize(start + n, 0);
            r.read_exact(&mut resp.body[start..]).await?;
            read_line(r, &mut line).await?;
        }
    } else {
        r.read_to_end(&mut resp.body).await?;
    }
    Ok(resp)
}
