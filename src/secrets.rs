//! Secrets (tokens, passwords, app secrets): referenced from the config, never written in it.
//!
//! A secret comes from an environment variable (`{ env = "CRIER_X_TOKEN" }`), a file
//! (`{ file = "/etc/crier/x.token" }`) or a systemd credential (`{ credential = "x-token" }`,
//! read from `$CREDENTIALS_DIRECTORY`, which `LoadCredential=` fills). The value is held in
//! [`Secret`], whose `Debug` prints a placeholder and which has no `Display`, so it cannot end
//! up in a log line or an error message by accident.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A secret value. Read it with [`Secret::expose`] only where it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value (tests and token refreshes).
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the request that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where a secret is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// An environment variable.
    Env(String),
    /// A file; relative paths are resolved against the config file's folder.
    File(PathBuf),
    /// A systemd credential name, read from `$CREDENTIALS_DIRECTORY/{name}`.
    Credential(String),
}

/// A secret could not be read.
#[derive(Debug, Error)]
pub enum SecretError {
    /// The environment variable is not set or empty.
    #[error("environment variable {0} is not set or is empty; export it before starting crier")]
    MissingEnv(String),
    /// The file could not be read.
    #[error("cannot read secret file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The credential directory is not set.
    #[error(
        "credential {0:?} needs $CREDENTIALS_DIRECTORY, which systemd sets for units with LoadCredential=; outside systemd use {{ file = ... }}"
    )]
    NoCredentialsDirectory(String),
}

impl SecretRef {
    /// Makes a relative file path absolute against `base`.
    pub fn resolve_path(&mut self, base: &Path) {
        if let SecretRef::File(path) = self
            && path.is_relative()
        {
            *path = base.join(&*path);
        }
    }

    /// Reads the secret. A file readable by other users is read, with a warning that says how
    /// to fix its mode.
    pub fn load(&self) -> Result<Secret, SecretError> {
        let value = match self {
            SecretRef::Env(name) => std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| SecretError::MissingEnv(name.clone()))?,
            SecretRef::File(path) => read_file(path)?,
            SecretRef::Credential(name) => {
                let dir = std::env::var_os("CREDENTIALS_DIRECTORY")
                    .ok_or_else(|| SecretError::NoCredentialsDirectory(name.clone()))?;
                read_file(&Path::new(&dir).join(name))?
            }
        };
        Ok(Secret(value.trim().to_owned()))
    }

    /// Where the secret comes from, for messages (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretRef::Env(name) => format!("environment variable {name}"),
            SecretRef::File(path) => format!("file {}", path.display()),
            SecretRef::Credential(name) => format!("systemd credential {name:?}"),
        }
    }

    /// Where the secret comes from, in the effective config's words: `<from env NAME>`,
    /// `<from file /path>` or `<from credential NAME>`.
    pub fn source(&self) -> String {
        match self {
            SecretRef::Env(name) => format!("<from env {name}>"),
            SecretRef::File(path) => format!("<from file {}>", path.display()),
            SecretRef::Credential(name) => format!("<from credential {name}>"),
        }
    }
}

/// A reference serialises as the table the config file accepts (`{ env = "NAME" }`); it holds
/// no value, so nothing secret can be written this way.
impl Serialize for SecretRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            SecretRef::Env(name) => map.serialize_entry("env", name)?,
            SecretRef::File(path) => map.serialize_entry("file", path)?,
            SecretRef::Credential(name) => map.serialize_entry("credential", name)?,
        }
        map.end()
    }
}

fn read_file(path: &Path) -> Result<String, SecretError> {
    let error = |reason: String| SecretError::File {
        path: path.to_owned(),
        reason,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|e| error(e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "secret file is readable by other users; run `chmod 600 {}`",
                path.display()
            );
        }
    }
    let value = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    if value.trim().is_empty() {
        return Err(error("the file is empty".into()));
    }
    Ok(value)
}

impl<'de> Deserialize<'de> for SecretRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            // The value is only matched to be refused, never kept.
            Inline(#[allow(dead_code)] String),
            Table {
                env: Option<String>,
                file: Option<PathBuf>,
                credential: Option<String>,
            },
        }
        use serde::de::Error;
        match Raw::deserialize(deserializer)? {
            Raw::Inline(_) => Err(D::Error::custom(
                "secrets are not written in the config file: use { env = \"VARIABLE\" }, { file = \"/path/to/file\" } or { credential = \"name\" } (systemd LoadCredential=)",
            )),
            Raw::Table {
                env: Some(env),
                file: None,
                credential: None,
            } => Ok(SecretRef::Env(env)),
            Raw::Table {
                env: None,
                file: Some(file),
                credential: None,
            } => Ok(SecretRef::File(file)),
            Raw::Table {
                env: None,
                file: None,
                credential: Some(name),
            } => Ok(SecretRef::Credential(name)),
            Raw::Table { .. } => Err(D::Error::custom(
                "a secret needs exactly one of `env`, `file` or `credential`",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Holder {
        token: SecretRef,
    }

    #[test]
    fn secrets_are_references_never_values() {
        let ok: Holder = toml::from_str(r#"token = { env = "CRIER_TEST_TOKEN" }"#).unwrap();
        assert_eq!(ok.token, SecretRef::Env("CRIER_TEST_TOKEN".into()));
        let err = toml::from_str::<Holder>(r#"token = "abc123""#).unwrap_err();
        // `message()` is what crier reports (without toml's echo of the source line).
        assert!(err.message().contains("not written in the config"), "{err}");
        assert!(!err.message().contains("abc123"), "{err}");
        let err = toml::from_str::<Holder>(r#"token = { env = "A", file = "b" }"#).unwrap_err();
        assert!(err.to_string().contains("exactly one"), "{err}");
    }

    #[test]
    fn a_reference_serialises_as_the_config_writes_it_and_says_its_source() {
        for (text, source) in [
            (r#"token = { env = "CRIER_X" }"#, "<from env CRIER_X>"),
            (
                r#"token = { file = "/etc/crier/x" }"#,
                "<from file /etc/crier/x>",
            ),
            (
                r#"token = { credential = "x-token" }"#,
                "<from credential x-token>",
            ),
        ] {
            let holder: Holder = toml::from_str(text).unwrap();
            assert_eq!(holder.token.source(), source);
            let json = serde_json::to_value(&holder.token).unwrap();
            let back: SecretRef = serde_json::from_value(json).unwrap();
            assert_eq!(back, holder.token);
        }
    }

    #[test]
    fn a_secret_never_prints_its_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn files_are_read_trimmed_and_relative_to_the_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "s3cret\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                dir.path().join("tok"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
        let mut r = SecretRef::File("tok".into());
        r.resolve_path(dir.path());
        assert_eq!(r.load().unwrap().expose(), "s3cret");
        let missing = SecretRef::Env("CRIER_TEST_SURELY_UNSET_VARIABLE".into());
        let err = missing.load().unwrap_err().to_string();
        assert!(err.contains("CRIER_TEST_SURELY_UNSET_VARIABLE"), "{err}");
    }
}
