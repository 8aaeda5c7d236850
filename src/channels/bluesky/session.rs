//! The session: `com.atproto.server.createSession` with the handle and app password gives an
//! access token (about two hours) and a refresh token (about two months). createSession is
//! rate-limited (30 per 5 minutes, 300 a day), so the session is kept in the channel's memory
//! and reused by every run; an expired access token is renewed with
//! `com.atproto.server.refreshSession`, and only when that fails is a new session created.
//!
//! API: <https://docs.bsky.app/docs/api/com-atproto-server-create-session>,
//! <https://docs.bsky.app/docs/api/com-atproto-server-refresh-session>

use std::fmt;

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Bluesky;
use super::xrpc::{self, Answer, NETWORK};
use crate::channels::PostError;

/// Memory key of the session.
const MEMORY_KEY: &str = "session";

/// A session: the account's DID and its tokens. The tokens are credentials: they are kept in
/// the channel's memory and sent to the PDS, never logged (`Debug` shows the DID only).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Session {
    pub(super) did: String,
    pub(super) access_jwt: String,
    pub(super) refresh_jwt: String,
    /// The handle the session was created for: a session of another account is not reused
    /// when the config names a new handle.
    #[serde(default)]
    pub(super) identifier: String,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

/// How to replace a session the PDS refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Renewal {
    /// The access token expired: refresh it.
    Refresh,
    /// The session is gone (revoked app password, logged out): create another.
    Create,
}

impl Bluesky {
    /// The session to use: the stored one, or a new one.
    pub(super) async fn session(&self) -> Result<Session, PostError> {
        let _one_at_a_time = self.session_lock.lock().await;
        match self.stored_session() {
            Some(session) => Ok(session),
            None => self.create_session().await,
        }
    }

    /// Replaces `stale`, which the PDS refused, unless another task already did.
    pub(super) async fn renew(
        &self,
        stale: &Session,
        renewal: Renewal,
    ) -> Result<Session, PostError> {
        let _one_at_a_time = self.session_lock.lock().await;
        if let Some(current) = self.stored_session()
            && current.access_jwt != stale.access_jwt
        {
            return Ok(current);
        }
        match renewal {
            Renewal::Refresh => self.refresh_session(stale).await,
            Renewal::Create => self.create_session().await,
        }
    }

    fn stored_session(&self) -> Option<Session> {
        let stored = self.context.memory.get(MEMORY_KEY)?;
        match serde_json::from_str::<Session>(&stored) {
            Ok(session) if session.identifier == self.config.handle => Some(session),
            Ok(_) => {
                tracing::info!(
                    channel = %self.name,
                    "the stored Bluesky session belongs to another handle; creating a new one"
                );
                None
            }
            Err(e) => {
                tracing::warn!(channel = %self.name, "ignoring an unreadable stored Bluesky session: {e}");
                None
            }
        }
    }

    fn store_session(&self, session: &Session) {
        match serde_json::to_string(session) {
            Ok(json) => self.context.memory.set(MEMORY_KEY, &json),
            // Strings only: serialisation cannot fail; the session then lives for this run.
            Err(e) => tracing::warn!(channel = %self.name, "cannot store the Bluesky session: {e}"),
        }
    }

    async fn create_session(&self) -> Result<Session, PostError> {
        const METHOD: &str = "com.atproto.server.createSession";
        let password = self
            .config
            .app_password
            .load()
            .map_err(|e| PostError::Pause {
                reason: format!(
                    "{NETWORK}: cannot read the app password: {e}; then run `crier retry --channel {}`",
                    self.name
                ),
            })?;
        let request = self
            .context
            .http
            .post(self.xrpc(METHOD))
            .json(&json!({"identifier": self.config.handle, "password": password.expose()}));
        let answer = xrpc::send(request).await?;
        if !answer.status.is_success() {
            return Err(self.session_refused(&answer));
        }
        let mut session: Session = answer.json(METHOD)?;
        session.identifier = self.config.handle.clone();
        tracing::info!(channel = %self.name, did = %session.did, "created a Bluesky session");
        self.store_session(&session);
        Ok(session)
    }

    async fn refresh_session(&self, stale: &Session) -> Result<Session, PostError> {
        const METHOD: &str = "com.atproto.server.refreshSession";
        let request = self
            .context
            .http
            .post(self.xrpc(METHOD))
            .bearer_auth(&stale.refresh_jwt);
        let answer = xrpc::send(request).await?;
        let status = answer.status;
        if status.is_success() {
            let mut session: Session = answer.json(METHOD)?;
            session.identifier = self.config.handle.clone();
            tracing::debug!(channel = %self.name, "refreshed the Bluesky session");
            self.store_session(&session);
            return Ok(session);
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(answer.classify(&self.name, METHOD));
        }
        // The refresh token expired or was revoked: start over.
        tracing::info!(
            channel = %self.name,
            reason = %answer.describe(),
            "the Bluesky session cannot be refreshed; creating a new one"
        );
        self.create_session().await
    }

    /// Why createSession failed: the whole channel waits unless it is transient.
    fn session_refused(&self, answer: &Answer) -> PostError {
        const METHOD: &str = "com.atproto.server.createSession";
        let name = &self.name;
        let detail = format!(
            "{NETWORK}: {METHOD} for {} answered HTTP {}: {}",
            self.config.handle,
            answer.status,
            answer.describe()
        );
        match answer.error().as_deref() {
            _ if answer.status == StatusCode::TOO_MANY_REQUESTS
                || answer.status.is_server_error() =>
            {
                answer.classify(name, METHOD)
            }
            Some("AuthFactorTokenRequired") => PostError::Pause {
                reason: format!(
                    "{detail}: this is the account password, which needs a sign-in code; crier needs an app password: create one on Bluesky (Settings → Privacy and security → App passwords), store it in {}, and run `crier retry --channel {name}`",
                    self.config.app_password.describe()
                ),
            },
            _ if answer.status == StatusCode::UNAUTHORIZED && !answer.account_unavailable() => {
                PostError::Pause {
                    reason: format!(
                        "{detail}: the handle or app password was refused; create a new app password on Bluesky (Settings → Privacy and security → App passwords), store it in {}, and run `crier retry --channel {name}`",
                        self.config.app_password.describe()
                    ),
                }
            }
            _ => match answer.classify(name, METHOD) {
                PostError::Reject { .. } => PostError::Pause {
                    reason: format!(
                        "{detail}: no session, so nothing can be posted; check `handle` and the app password, then run `crier retry --channel {name}`"
                    ),
                },
                other => other,
            },
        }
    }
}
