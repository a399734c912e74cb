//! The transmitter's signing keys: a JWK Set read from a file or fetched from a URI.
//!
//! A token naming a `kid` we do not hold makes us read the set again (key rotation), at most
//! once per [`REFRESH_MIN_INTERVAL`] so that a flood of forged `kid`s cannot turn the bridge
//! into a load generator against the identity provider. Keys a JWS header carries itself
//! (`jwk`, `jku`, `x5u`) are never used: only the configured set is trusted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::Mutex;

/// Shortest time between two reads of the key set caused by unknown `kid`s.
pub const REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(5);
/// Largest JWK Set document accepted.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `--jwks-file`: read again when an unknown `kid` arrives.
    File(PathBuf),
    /// `--jwks-uri`: fetched at start and again when an unknown `kid` arrives.
    Uri(String),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(p) => write!(f, "{}", p.display()),
            KeySource::Uri(u) => f.write_str(u),
        }
    }
}

/// Reading the key set failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The file could not be read.
    #[error("cannot read the JWK Set file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The URI could not be fetched.
    #[error("cannot fetch the JWK Set from {uri}: {source}")]
    Fetch {
        /// The URI.
        uri: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The URI answered something else than 200.
    #[error("the JWK Set at {uri} answered HTTP {status}")]
    Status {
        /// The URI.
        uri: String,
        /// The answer's status.
        status: u16,
    },
    /// The document is not a JWK Set with at least one usable signing key.
    #[error("{source_name} is not a usable JWK Set: {why}")]
    Invalid {
        /// File or URI.
        source_name: String,
        /// What is wrong.
        why: String,
    },
}

/// One usable verification key.
#[derive(Clone)]
pub struct Key {
    /// `kid`, if the set gave one.
    pub kid: Option<String>,
    /// The algorithm this key verifies (RS256 for RSA keys, ES256 for P-256 keys).
    pub alg: Algorithm,
    key: Arc<DecodingKey>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// The key for `jsonwebtoken::decode`.
    pub fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}

/// The algorithms a SET or client assertion may be signed with.
pub const ACCEPTED_ALGORITHMS: [Algorithm; 2] = [Algorithm::RS256, Algorithm::ES256];

/// The usable signing keys of a JWK Set document: RSA keys (RS256) and P-256 keys (ES256) that
/// are not marked for encryption only and whose `alg`, if given, is one we accept. Other keys
/// are skipped (an identity provider's set often also holds encryption keys).
pub fn parse_jwks(doc: &[u8], source_name: &str) -> Result<Vec<Key>, KeyError> {
    let invalid = |why: String| KeyError::Invalid {
        source_name: source_name.to_owned(),
        why,
    };
    #[derive(serde::Deserialize)]
    struct Doc {
        keys: Vec<serde_json::Value>,
    }
    let doc: Doc = serde_json::from_slice(doc).map_err(|e| invalid(e.to_string()))?;
    let mut keys = Vec::new();
    for value in doc.keys {
        // One key we cannot read does not make the others unusable.
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if let Some(key) = usable(&jwk) {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err(invalid("no RSA or P-256 signing key in it".into()));
    }
    Ok(keys)
}

fn usable(jwk: &Jwk) -> Option<Key> {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let alg = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    let declared_ok = match jwk.common.key_algorithm {
        None => true,
        Some(KeyAlgorithm::RS256) => alg == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => alg == Algorithm::ES256,
        Some(_) => false,
    };
    if !declared_ok {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        key: Arc::new(key),
    })
}

/// The configured key set, refreshed on demand.
#[derive(Debug)]
pub struct KeySet {
    source: KeySource,
    http: reqwest::Client,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    keys: Vec<Key>,
    last_load: Instant,
}

impl KeySet {
    /// Reads the set once; an unreadable or empty set stops the start.
    pub async fn load(source: KeySource, http: reqwest::Client) -> Result<KeySet, KeyError> {
        let keys = read(&source, &http).await?;
        Ok(KeySet {
            source,
            http,
            state: Mutex::new(State {
                keys,
                last_load: Instant::now(),
            }),
        })
    }

    /// Where the keys come from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The keys that may have signed a token with this header: the key named by `kid` (the set
    /// is read again if it is unknown and was not read in the last [`REFRESH_MIN_INTERVAL`]),
    /// or without a `kid` every key of the algorithm. Empty if none.
    pub async fn candidates(&self, kid: Option<&str>, alg: Algorithm) -> Vec<Key> {
        let mut state = self.state.lock().await;
        let pick = |keys: &[Key]| -> Vec<Key> {
            keys.iter()
                .filter(|k| k.alg == alg && kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
                .cloned()
                .collect()
        };
        let found = pick(&state.keys);
        if !found.is_empty() || kid.is_none() {
            return found;
        }
        if state.last_load.elapsed() < REFRESH_MIN_INTERVAL {
            return found;
        }
        state.last_load = Instant::now();
        match read(&self.source, &self.http).await {
            Ok(keys) => {
                tracing::info!(source = %self.source, keys = keys.len(), "JWK Set read again for an unknown kid");
                state.keys = keys;
            }
            Err(e) => {
                tracing::warn!(error = %e, "JWK Set refresh failed; keeping the keys we have")
            }
        }
        pick(&state.keys)
    }
}

async fn read(source: &KeySource, http: &reqwest::Client) -> Result<Vec<Key>, KeyError> {
    match source {
        KeySource::File(path) => {
            let doc = tokio::fs::read(path).await.map_err(|e| KeyError::Read {
                path: path.clone(),
                source: e,
            })?;
            parse_jwks(&doc, &path.display().to_string())
        }
        KeySource::Uri(uri) => {
            let fetch = |e| KeyError::Fetch {
                uri: uri.clone(),
                source: e,
            };
            let resp = http
                .get(uri)
                .header("accept", "application/jwk-set+json, application/json")
                .send()
                .await
                .map_err(fetch)?;
            if resp.status() != reqwest::StatusCode::OK {
                return Err(KeyError::Status {
                    uri: uri.clone(),
                    status: resp.status().as_u16(),
                });
            }
            let body = resp.bytes().await.map_err(fetch)?;
            if body.len() > MAX_JWKS_BYTES {
                return Err(KeyError::Invalid {
                    source_name: uri.clone(),
                    why: format!("larger than {MAX_JWKS_BYTES} bytes"),
                });
            }
            parse_jwks(&body, uri)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_keys_we_cannot_use_and_refuses_a_set_without_any() {
        let doc = br#"{"keys":[
            {"kty":"oct","k":"c2VjcmV0","kid":"hmac"},
            {"kty":"RSA","use":"enc","kid":"enc","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"},
            {"kty":"EC","crv":"P-384","kid":"p384","x":"AAAA","y":"AAAA"},
            {"kty":"weird"}
        ]}"#;
        let err = parse_jwks(doc, "test").unwrap_err();
        assert!(
            err.to_string().contains("no RSA or P-256 signing key"),
            "{err}"
        );
        assert!(parse_jwks(b"{}", "test").is_err());
        assert!(parse_jwks(b"not json", "test").is_err());
    }

    #[test]
    fn reads_rsa_and_p256_keys_with_their_algorithm() {
        let doc = br#"{"keys":[
            {"kty":"RSA","kid":"r1","alg":"RS256","n":"sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw","e":"AQAB"},
            {"kty":"EC","crv":"P-256","kid":"e1","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty":"RSA","kid":"r2","alg":"ES256","n":"AQAB","e":"AQAB"}
        ]}"#;
        let keys = parse_jwks(doc, "test").unwrap();
        let got: Vec<_> = keys
            .iter()
            .map(|k| (k.kid.clone().unwrap(), k.alg))
            .collect();
        assert_eq!(
            got,
            vec![
                ("r1".to_owned(), Algorithm::RS256),
                ("e1".to_owned(), Algorithm::ES256)
            ]
        );
    }

    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    /// A set of P-256 keys with these `kid`s (the same public point: only the ids matter here).
    fn jwks(kids: &[&str]) -> String {
        let keys: Vec<String> = kids
            .iter()
            .map(|k| format!(r#"{{"kty":"EC","crv":"P-256","kid":"{k}","x":"{X}","y":"{Y}"}}"#))
            .collect();
        format!(r#"{{"keys":[{}]}}"#, keys.join(","))
    }

    fn kids(keys: &[Key]) -> Vec<String> {
        keys.iter().filter_map(|k| k.kid.clone()).collect()
    }

    /// Pretends the last read was a full interval ago (instead of waiting for it).
    async fn age(set: &KeySet) {
        let mut state = set.state.lock().await;
        state.last_load = Instant::now()
            .checked_sub(REFRESH_MIN_INTERVAL)
            .expect("the clock has run for longer than the interval");
    }

    #[tokio::test]
    async fn a_rotated_key_is_picked_up_from_the_file_at_most_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, jwks(&["old"])).unwrap();
        let set = KeySet::load(KeySource::File(path.clone()), reqwest::Client::new())
            .await
            .unwrap();
        assert_eq!(
            kids(&set.candidates(Some("old"), Algorithm::ES256).await),
            ["old"]
        );

        // The provider rotates: the new key is in the file, the old one gone.
        std::fs::write(&path, jwks(&["new"])).unwrap();
        assert!(
            set.candidates(Some("new"), Algorithm::ES256)
                .await
                .is_empty(),
            "read at most once per interval: the set was just read"
        );
        age(&set).await;
        assert_eq!(
            kids(&set.candidates(Some("new"), Algorithm::ES256).await),
            ["new"]
        );
        assert!(
            set.candidates(Some("old"), Algorithm::ES256)
                .await
                .is_empty(),
            "the retired key is gone"
        );
        // A set that cannot be read any more keeps the keys we have.
        std::fs::write(&path, "not json").unwrap();
        age(&set).await;
        assert!(set
            .candidates(Some("other"), Algorithm::ES256)
            .await
            .is_empty());
        assert_eq!(
            kids(&set.candidates(Some("new"), Algorithm::ES256).await),
            ["new"]
        );
    }

    #[tokio::test]
    async fn a_flood_of_unknown_kids_fetches_the_uri_once_per_interval() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let fetches = Arc::new(AtomicUsize::new(0));
        let doc = Arc::new(std::sync::Mutex::new(jwks(&["a"])));
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get({
                let (fetches, doc) = (fetches.clone(), doc.clone());
                move || async move {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let body = doc.lock().unwrap().clone();
                    ([("content-type", "application/jwk-set+json")], body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let set = KeySet::load(KeySource::Uri(uri), reqwest::Client::new())
            .await
            .unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched at start");
        for i in 0..20 {
            let kid = format!("forged-{i}");
            assert!(set
                .candidates(Some(&kid), Algorithm::ES256)
                .await
                .is_empty());
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            1,
            "unknown kids within the interval fetch nothing"
        );
        *doc.lock().unwrap() = jwks(&["a", "b"]);
        age(&set).await;
        for _ in 0..5 {
            assert_eq!(
                kids(&set.candidates(Some("b"), Algorithm::ES256).await),
                ["b"]
            );
        }
        assert_eq!(
            fetches.load(Ordering::SeqCst),
            2,
            "one fetch for the rotation"
        );
        assert!(
            set.candidates(Some("zzz"), Algorithm::ES256)
                .await
                .is_empty()
                && fetches.load(Ordering::SeqCst) == 2,
            "and none again within the interval"
        );
    }
}
