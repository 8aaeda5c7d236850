//! OAuth 1.0a request signing (HMAC-SHA1, RFC 5849 §3.4) as X documents it:
//! <https://docs.x.com/fundamentals/authentication/oauth-1-0a/creating-a-signature>.
//!
//! Only the method, the URL (its query included) and form-encoded body parameters are signed;
//! a JSON body, such as `POST /2/tweets` sends, is not part of the signature.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use url::Url;

use crate::secrets::Secret;

/// RFC 3986 percent-encoding: everything but letters, digits and `-._~`.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The four values of an OAuth 1.0a user-context credential.
pub(super) struct Credentials {
    /// API key (consumer key).
    pub consumer_key: Secret,
    /// API key secret (consumer secret).
    pub consumer_secret: Secret,
    /// The account's access token.
    pub token: Secret,
    /// The account's access token secret.
    pub token_secret: Secret,
}

/// A fresh nonce: 32 random alphanumeric characters.
pub(super) fn nonce() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Authorization` header value for a request: `OAuth oauth_consumer_key="…", …`.
/// `form` holds form-encoded body parameters, if any (none for a JSON body).
pub(super) fn authorization(
    method: &str,
    url: &Url,
    form: &[(&str, &str)],
    credentials: &Credentials,
    nonce: &str,
    timestamp: i64,
) -> String {
    let timestamp = timestamp.to_string();
    let mut oauth = vec![
        ("oauth_consumer_key", credentials.consumer_key.expose()),
        ("oauth_nonce", nonce),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", timestamp.as_str()),
        ("oauth_token", credentials.token.expose()),
        ("oauth_version", "1.0"),
    ];
    let signature = signature(method, url, form, &oauth, credentials);
    oauth.push(("oauth_signature", &signature));
    oauth.sort();
    let fields: Vec<String> = oauth
        .iter()
        .map(|(key, value)| format!("{}=\"{}\"", encode(key), encode(value)))
        .collect();
    format!("OAuth {}", fields.join(", "))
}

/// The HMAC-SHA1 signature, base64-encoded, over the signature base string.
fn signature(
    method: &str,
    url: &Url,
    form: &[(&str, &str)],
    oauth: &[(&str, &str)],
    credentials: &Credentials,
) -> String {
    let base = base_string(method, url, form, oauth);
    let key = format!(
        "{}&{}",
        encode(credentials.consumer_secret.expose()),
        encode(credentials.token_secret.expose())
    );
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC accepts any key");
    mac.update(base.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// `METHOD&encoded base URL&encoded sorted parameters`.
fn base_string(method: &str, url: &Url, form: &[(&str, &str)], oauth: &[(&str, &str)]) -> String {
    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (encode(&k), encode(&v)))
        .chain(
            form.iter()
                .chain(oauth)
                .map(|(k, v)| (encode(k), encode(v))),
        )
        .collect();
    params.sort();
    let params: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // The base URL: scheme and host lowercased and default port dropped (done by `Url`), no
    // query or fragment.
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(base.as_str()),
        encode(&params.join("&"))
    )
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, RFC3986).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn documented_credentials() -> Credentials {
        Credentials {
            consumer_key: Secret::new("xvz1evFS4wEEPTGEFPHBog"),
            consumer_secret: Secret::new("kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"),
            token: Secret::new("370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
            token_secret: Secret::new("LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"),
        }
    }

    /// X's "Creating a signature" example, to the byte.
    #[test]
    fn reproduces_the_documented_signature() {
        let url =
            Url::parse("https://api.twitter.com/1.1/statuses/update.json?include_entities=true")
                .unwrap();
        let form = [(
            "status",
            "Hello Ladies + Gentlemen, a signed OAuth request!",
        )];
        let header = authorization(
            "POST",
            &url,
            &form,
            &documented_credentials(),
            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
            1_318_622_958,
        );
        assert_eq!(
            header,
            "OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", \
             oauth_nonce=\"kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg\", \
             oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\", \
             oauth_signature_method=\"HMAC-SHA1\", \
             oauth_timestamp=\"1318622958\", \
             oauth_token=\"370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb\", \
             oauth_version=\"1.0\""
        );
    }

    #[test]
    fn documented_base_string() {
        let url =
            Url::parse("https://api.twitter.com/1.1/statuses/update.json?include_entities=true")
                .unwrap();
        let form = [(
            "status",
            "Hello Ladies + Gentlemen, a signed OAuth request!",
        )];
        let oauth = [
            ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
            ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1318622958"),
            (
                "oauth_token",
                "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            ),
            ("oauth_version", "1.0"),
        ];
        assert_eq!(
            base_string("post", &url, &form, &oauth),
            "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&\
             include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26\
             oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26\
             oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26\
             oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26\
             oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen\
             %252C%2520a%2520signed%2520OAuth%2520request%2521"
        );
    }

    #[test]
    fn nonces_are_fresh_and_alphanumeric() {
        let (a, b) = (nonce(), nonce());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn default_ports_and_case_are_normalised() {
        let url = Url::parse("HTTPS://API.X.COM:443/2/tweets").unwrap();
        let base = base_string("POST", &url, &[], &[]);
        assert_eq!(base, "POST&https%3A%2F%2Fapi.x.com%2F2%2Ftweets&");
        let local = Url::parse("http://127.0.0.1:8080/2/tweets").unwrap();
        assert!(base_string("POST", &local, &[], &[]).contains("127.0.0.1%3A8080"));
    }
}
