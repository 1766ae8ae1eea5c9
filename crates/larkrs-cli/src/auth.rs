//! `lark auth login|status|logout`, and the user session `lark --as user` acts with.

use crate::args::{AuthCommand, Cli};
use crate::output::{Failure, print, terminal_safe};
use lark::api::oauth::{AccountsUrl, SignedInUser};
use lark::http::FileUserTokenStore;
use lark::{Client, Redirect, SignIn, UserSession, UserTokenPair};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The session key's user: the CLI keeps one signed-in user per app.
const PROFILE: &str = "default";
/// The longest request head read from the browser.
const HEAD_MAX: usize = 8 * 1024;
/// How long a browser connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Where token files live: LARK_CONFIG_DIR, or the platform's config directory with `lark`
/// under it: `$XDG_CONFIG_HOME` or `~/.config` on Linux and the other Unixes,
/// `~/Library/Application Support` on macOS, `%APPDATA%` on Windows.
fn config_dir() -> Result<PathBuf, Failure> {
    let var = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
    if let Some(dir) = var("LARK_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let base = if cfg!(windows) {
        var("APPDATA").map(PathBuf::from)
    } else if cfg!(target_os = "macos") {
        var("HOME").map(|home| PathBuf::from(home).join("Library/Application Support"))
    } else {
        var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute())
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".config")))
    };
    base.map(|dir| dir.join("lark")).ok_or_else(|| {
        Failure::Local(
            "no config directory is known here (no HOME or APPDATA): set LARK_CONFIG_DIR"
                .to_owned(),
        )
    })
}

fn store() -> Result<Arc<FileUserTokenStore>, Failure> {
    Ok(Arc::new(FileUserTokenStore::new(config_dir()?)))
}

/// The signed-in user's session, for `lark --as user`.
pub(crate) fn session(client: &Client) -> Result<UserSession, Failure> {
    Ok(client.oauth().stored_session(PROFILE, store()?))
}

fn accounts(cli: &Cli, client: &Client) -> Result<lark::OAuth, Failure> {
    let oauth = client.oauth();
    Ok(match &cli.accounts_url {
        Some(url) => oauth.accounts(
            AccountsUrl::parse(url)
                .map_err(|err| Failure::Input(format!("--accounts-url: {err}")))?,
        ),
        None => oauth,
    })
}

fn scopes(scope: &str) -> Vec<String> {
    let mut scopes: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
    if !scopes.iter().any(|s| s == "offline_access") {
        scopes.push("offline_access".to_owned());
    }
    scopes
}

fn date(time: SystemTime) -> String {
    httpdate::fmt_http_date(time)
}

fn seconds_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(crate) async fn run(
    cli: &Cli,
    client: &Client,
    command: &AuthCommand,
    json: bool,
) -> Result<(), Failure> {
    match command {
        AuthCommand::Login {
            scope,
            redirect_uri,
            no_browser,
            device,
            wait,
        } => {
            let oauth = accounts(cli, client)?;
            let scopes = scopes(scope);
            let pair = if *device {
                device_login(&oauth, &scopes, *wait).await?
            } else {
                browser_login(&oauth, &scopes, redirect_uri, *no_browser, *wait).await?
            };
            let store = store()?;
            let path = store.path_for(&lark::http::UserKey::new(
                client.http().base_url(),
                client.http().app_id(),
                PROFILE,
            ));
            let session = oauth.session(PROFILE, store, pair.clone()).await?;
            let me = oauth.user_info(&pair).await?;
            drop(session);
            signed_in(json, &me, &pair, Some(&path))
        }
        AuthCommand::Status => status(client, json).await,
        AuthCommand::Logout => {
            let session = session(client)?;
            let was = accounts(cli, client)?
                .sign_out(&session)
                .await
                .inspect_err(|_| {
                    eprintln!(
                        "The user's tokens are gone from this machine, but the platform did not confirm the refresh token's revocation:"
                    );
                })?;
            print(
                json,
                if was {
                    "Signed out: the refresh token is revoked and the user's tokens are gone from this machine."
                } else {
                    "Nobody was signed in."
                },
                &json!({"signed_out": was}),
            )
        }
    }
}

async fn status(client: &Client, json: bool) -> Result<(), Failure> {
    let session = session(client)?;
    let Some(pair) = session.stored().await? else {
        return Err(Failure::Refused(
            "nobody is signed in: run `lark auth login`".to_owned(),
        ));
    };
    // Asking who the token is renews it when it is due, as any call would.
    let me = client
        .as_user(&session)
        .execute(lark::api::oauth::UserInfo)
        .await?;
    let pair: UserTokenPair = session.stored().await?.unwrap_or(pair);
    signed_in(json, &me, &pair, None)
}

/// Who is signed in, with which scopes and until when, and where the pair is kept when
/// `file` says: never a token.
fn signed_in(
    json: bool,
    me: &SignedInUser,
    pair: &UserTokenPair,
    file: Option<&Path>,
) -> Result<(), Failure> {
    let renewed = pair
        .refresh_expires_at
        .map_or_else(|| "it expires (no refresh token)".to_owned(), date);
    let stored = file.map_or_else(String::new, |path| {
        format!(" Stored in {}.", path.display())
    });
    let mut value = json!({
        "signed_in": true,
        "name": me.name,
        "open_id": me.open_id,
        "scope": pair.scope,
        "expires_at": seconds_since_epoch(pair.expires_at),
        "refresh_expires_at": pair.refresh_expires_at.map(seconds_since_epoch),
    });
    if let Some(path) = file {
        value["file"] = json!(path);
    }
    print(
        json,
        format!(
            "Signed in as {} ({}). Scopes: {}. Access token valid until {}; renewed by itself until {renewed}.{stored}",
            terminal_safe(&me.name),
            me.open_id,
            terminal_safe(&pair.scope),
            date(pair.expires_at),
        ),
        &value,
    )
}

async fn device_login(
    oauth: &lark::OAuth,
    scopes: &[String],
    wait: Duration,
) -> Result<UserTokenPair, Failure> {
    let grant = oauth.device(scopes.iter().cloned()).await?;
    eprintln!(
        "To sign in, open {} and enter the code {}",
        terminal_safe(&grant.verification_uri),
        terminal_safe(&grant.user_code)
    );
    if let Some(complete) = &grant.verification_uri_complete {
        eprintln!("(or open {})", terminal_safe(complete));
    }
    tokio::time::timeout(wait, oauth.wait_for_device(&grant))
        .await
        .map_err(|_| {
            Failure::Refused(format!(
                "no sign-in within {} s; run `lark auth login --device` again",
                wait.as_secs()
            ))
        })?
        .map_err(Failure::from)
}

/// The loopback address and path a redirect url names.
fn loopback(redirect_uri: &str) -> Result<(String, String), Failure> {
    let uri: http::Uri = redirect_uri
        .parse()
        .map_err(|_| Failure::Input(format!("--redirect-uri: `{redirect_uri}` is not a url")))?;
    if uri.scheme_str() != Some("http") {
        return Err(Failure::Input(
            "--redirect-uri: give an http:// url on this machine, such as http://127.0.0.1:8400/callback".to_owned(),
        ));
    }
    let host = uri.host().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return Err(Failure::Input(format!(
            "--redirect-uri: {host} is not this machine; the redirect is received on a loopback address (127.0.0.1, localhost or [::1])"
        )));
    }
    let port = uri.port_u16().unwrap_or(80);
    let bind = if host == "::1" {
        format!("[::1]:{port}")
    } else {
        format!("127.0.0.1:{port}")
    };
    Ok((bind, uri.path().to_owned()))
}

async fn browser_login(
    oauth: &lark::OAuth,
    scopes: &[String],
    redirect_uri: &str,
    no_browser: bool,
    wait: Duration,
) -> Result<UserTokenPair, Failure> {
    let (bind, path) = loopback(redirect_uri)?;
    let listener = TcpListener::bind(&bind).await.map_err(|err| {
        Failure::Local(format!(
            "could not listen on {bind} for the redirect: {err}"
        ))
    })?;
    let sign_in = oauth.sign_in(redirect_uri, scopes.iter().cloned())?;
    eprintln!(
        "To sign in, open this url in a browser:\n\n  {}\n",
        sign_in.url()
    );
    if !no_browser && !open_browser(sign_in.url()) {
        eprintln!("(no browser could be opened; open the url yourself)");
    }
    eprintln!("Waiting for the sign-in on {redirect_uri} …");
    tokio::time::timeout(wait, receive(&listener, &path, oauth, &sign_in))
        .await
        .map_err(|_| {
            Failure::Refused(format!(
                "no sign-in within {} s; run `lark auth login` again",
                wait.as_secs()
            ))
        })?
}

/// Answers browser requests until one brings the redirect with this sign-in's state.
async fn receive(
    listener: &TcpListener,
    path: &str,
    oauth: &lark::OAuth,
    sign_in: &SignIn,
) -> Result<UserTokenPair, Failure> {
    loop {
        let (mut stream, _) = listener
            .accept()
            .await
            .map_err(|err| Failure::Local(format!("receiving the redirect: {err}")))?;
        let Some(target) = read_target(&mut stream).await else {
            continue;
        };
        let (request_path, query) = target.split_once('?').unwrap_or((&target, ""));
        if request_path != path {
            answer(&mut stream, "404 Not Found", "Not the sign-in redirect.").await;
            continue;
        }
        let redirect = Redirect::from_query(query);
        if redirect.state.as_deref() != Some(sign_in.state()) {
            // A page that is not this sign-in's (a stale tab, a forged link): refused, and
            // the real redirect is still awaited.
            answer(
                &mut stream,
                "400 Bad Request",
                "This sign-in link is not the one this command started; nothing was done.",
            )
            .await;
            eprintln!("A redirect with another state was refused; still waiting.");
            continue;
        }
        return match oauth.finish(sign_in, &redirect).await {
            Ok(pair) => {
                answer(
                    &mut stream,
                    "200 OK",
                    "Signed in. You can close this tab and return to the terminal.",
                )
                .await;
                Ok(pair)
            }
            Err(err) => {
                answer(
                    &mut stream,
                    "400 Bad Request",
                    "The sign-in failed; the terminal says why.",
                )
                .await;
                Err(err.into())
            }
        };
    }
}

/// The request target of a browser's request, read within the timeout and the size cap.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let read = async {
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < HEAD_MAX {
            let n = stream.read(&mut buf).await.ok()?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Some(())
    };
    tokio::time::timeout(READ_TIMEOUT, read).await.ok()??;
    let line = head.split(|&b| b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    (parts.next()? == "GET").then_some(())?;
    parts.next().map(str::to_owned)
}

async fn answer(stream: &mut TcpStream, status: &str, text: &str) {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>lark</title></head><body><p>{text}</p></body></html>"
    );
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\ncache-control: no-store\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(READ_TIMEOUT, stream.write_all(response.as_bytes())).await;
    let _ = stream.shutdown().await;
}

/// Opens `url` in the user's browser; false when no opener could be started.
fn open_browser(url: &str) -> bool {
    let mut command = if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else if cfg!(windows) {
        let mut command = std::process::Command::new("rundll32");
        command.arg("url.dll,FileProtocolHandler");
        command
    } else {
        std::process::Command::new("xdg-open")
    };
    command
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}
