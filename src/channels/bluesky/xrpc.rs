//! XRPC plumbing: sending a request and reading its answer, and the error body every AT
//! Protocol method uses (`{"error": "ExpiredToken", "message": "Token has expired"}`).
//!
//! Spec: <https://atproto.com/specs/xrpc#error-responses>

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::super::PostError;
use super::super::http;

/// Network name in messages.
pub(super) const NETWORK: &str = "bluesky";

/// A complete answer, successful or not.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<String>,
    message: Option<String>,
}

impl Answer {
    /// The XRPC error name (`ExpiredToken`, `RecordNotFound`, …), when the body has one.
    pub(super) fn error(&self) -> Option<String> {
        serde_json::from_str::<ErrorBody>(&self.body)
            .ok()
            .and_then(|body| body.error)
    }

    /// The account is taken down, deactivated or suspended: nothing can be posted.
    pub(super) fn account_unavailable(&self) -> bool {
        matches!(
            self.error().as_deref(),
            Some(
                "AccountTakedown"
                    | "AccountDeactivated"
                    | "RepoTakendown"
                    | "RepoDeactivated"
                    | "RepoSuspended"
            )
        )
    }

    /// `Name: message` of an XRPC error, or the start of the body.
    pub(super) fn describe(&self) -> String {
        match serde_json::from_str::<ErrorBody>(&self.body) {
            Ok(ErrorBody {
                error: Some(error),
                message: Some(message),
            }) => format!("{error}: {}", http::excerpt(&message)),
            Ok(ErrorBody {
                error: Some(error), ..
            }) => error,
            _ => http::excerpt(&self.body),
        }
    }

    /// The successful answer's body.
    pub(super) fn json<T: DeserializeOwned>(&self, method: &str) -> Result<T, PostError> {
        serde_json::from_str(&self.body).map_err(|e| PostError::Retry {
            reason: format!("{NETWORK}: unexpected answer from {method}: {e}"),
            after: None,
        })
    }

    /// Generic meaning of the failure, for what the caller does not handle itself.
    pub(super) fn classify(&self, channel: &str, method: &str) -> PostError {
        let detail = format!(
            "{NETWORK}: {method} answered HTTP {}: {}",
            self.status,
            self.describe()
        );
        match self.error().as_deref() {
            _ if self.status == StatusCode::TOO_MANY_REQUESTS => {
                match http::classify_status(NETWORK, self.status, &self.headers, &self.body) {
                    PostError::Retry { after, .. } => PostError::Retry {
                        reason: format!("{detail} (rate limited)"),
                        after,
                    },
                    other => other,
                }
            }
            // Still refused after the session was renewed.
            Some("ExpiredToken" | "InvalidToken" | "AuthenticationRequired") => PostError::Pause {
                reason: format!(
                    "{detail}: the session was refused even after renewing it; run `crier retry --channel {channel}` once the account works again"
                ),
            },
            _ if self.account_unavailable() => PostError::Pause {
                reason: format!(
                    "{detail}: the account cannot post; resolve it on Bluesky, then run `crier retry --channel {channel}`"
                ),
            },
            Some("InvalidRequest") if self.status.is_client_error() => {
                PostError::Reject { reason: detail }
            }
            _ => match http::classify_status(NETWORK, self.status, &self.headers, &self.body) {
                PostError::Retry { after, .. } => PostError::Retry {
                    reason: detail,
                    after,
                },
                PostError::Pause { .. } => PostError::Pause {
                    reason: format!(
                        "{detail}: the session was refused; run `crier retry --channel {channel}` once the account works again"
                    ),
                },
                PostError::Reject { .. } => PostError::Reject { reason: detail },
            },
        }
    }
}

/// Sends `request` and reads the whole answer. A request without a complete answer is a
/// [`http::transport_error`].
pub(super) async fn send(request: reqwest::RequestBuilder) -> Result<Answer, PostError> {
    let transport = |e: reqwest::Error| http::transport_error(NETWORK, &e);
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.map_err(transport)?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}
