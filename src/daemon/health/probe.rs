//! `crier healthcheck`: asks a running daemon's listener for `/healthz`, so that a container
//! (whose image has no HTTP client) or a monitoring script can check the daemon with crier
//! itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use thiserror::Error;

/// What `/healthz` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// 200: the daemon's last cycle succeeded recently and no source has been failing long.
    Healthy,
    /// Any other status, with the listener's `reason` (or its body, when it is not crier's).
    Unhealthy {
        /// HTTP status.
        status: u16,
        /// Why, as the listener says it.
        reason: String,
    },
}

/// The listener could not be asked.
#[derive(Debug, Error)]
#[error(
    "cannot reach {url}: {reason}; is `crier run` (the daemon) running with this config's \
     [daemon.health] listen = \"{listen}\"?"
)]
pub struct ProbeError {
    /// The URL asked.
    pub url: String,
    /// `daemon.health.listen` as configured.
    pub listen: SocketAddr,
    /// The transport error.
    pub reason: String,
}

/// The address to ask for a listener bound to `listen`: a wildcard address (`0.0.0.0`, `::`)
/// is reached on the loopback address of its family.
fn target(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// The `/healthz` URL of the listener bound to `listen`.
pub fn url(listen: SocketAddr) -> String {
    format!("http://{}/healthz", target(listen))
}

/// Asks the listener bound to `listen` for `/healthz`, waiting at most `timeout`.
pub async fn probe(listen: SocketAddr, timeout: Duration) -> Result<Probe, ProbeError> {
    let url = url(listen);
    let failed = |e: reqwest::Error| ProbeError {
        url: url.clone(),
        listen,
        reason: e.to_string(),
    };
    let response = crate::channels::http::client(timeout)
        .get(&url)
        .send()
        .await
        .map_err(failed)?;
    let status = response.status();
    let body = response.text().await.map_err(failed)?;
    if status.is_success() {
        return Ok(Probe::Healthy);
    }
    Ok(Probe::Unhealthy {
        status: status.as_u16(),
        reason: reason(&body),
    })
}

/// The `reason` of crier's JSON answer, else the body itself (trimmed, on one line).
fn reason(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|json| json.get("reason")?.as_str().map(str::to_owned))
        .unwrap_or_else(|| body.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listener_is_asked_on_the_loopback_address() {
        let ask = |listen: &str| target(listen.parse().unwrap()).to_string();
        assert_eq!(ask("0.0.0.0:9464"), "127.0.0.1:9464");
        assert_eq!(ask("[::]:9464"), "[::1]:9464");
        assert_eq!(ask("127.0.0.1:9000"), "127.0.0.1:9000");
        assert_eq!(ask("192.0.2.7:9464"), "192.0.2.7:9464");
    }

    #[test]
    fn the_reason_is_crier_s_or_the_body() {
        assert_eq!(
            reason(r#"{"status":"unhealthy","reason":"the last cycle failed"}"#),
            "the last cycle failed"
        );
        assert_eq!(reason("Service\n  Unavailable\n"), "Service Unavailable");
        assert_eq!(
            reason(r#"{"status":"unhealthy"}"#),
            r#"{"status":"unhealthy"}"#
        );
    }
}
