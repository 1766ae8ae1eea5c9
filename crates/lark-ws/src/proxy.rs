//! An HTTP CONNECT tunnel through the proxy the HTTP client chose for the long connection's
//! url, so the dial reaches the platform the way REST calls do.

use lark_http::ProxyRoute;
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest proxy answer head read before the tunnel is refused.
const MAX_HEAD: usize = 16 * 1024;

/// Opens a TCP connection to `route`'s proxy and asks it, with `CONNECT`, for a tunnel to
/// `host:port`. Returns the stream once the proxy answers 2xx.
pub(crate) async fn tunnel(route: &ProxyRoute, host: &str, port: u16) -> io::Result<TcpStream> {
    let proxy_host = route
        .uri
        .host()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the proxy url has no host"))?;
    let proxy_port = route.uri.port_u16().unwrap_or(80);
    let mut stream = TcpStream::connect((proxy_host.trim_matches(['[', ']']), proxy_port)).await?;
    stream.set_nodelay(true)?;
    let target = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n").into_bytes();
    if let Some(auth) = &route.authorization {
        request.extend_from_slice(b"Proxy-Authorization: ");
        request.extend_from_slice(auth.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    stream.write_all(&request).await?;

    // Read the answer's head byte by byte, so nothing the tunnel carries after it is consumed.
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the proxy's answer to CONNECT has no end",
            ));
        }
        let byte = stream.read_u8().await?;
        head.push(byte);
    }
    let status_line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let status = String::from_utf8_lossy(status_line);
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code.starts_with('2') {
        Ok(stream)
    } else {
        Err(io::Error::other(format!(
            "the proxy refused the tunnel to {target}: {status}"
        )))
    }
}
