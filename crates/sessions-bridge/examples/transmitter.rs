//! A stand-in identity provider for trying the bridge by hand (README, "Connecting an identity
//! provider"): makes a P-256 key pair, and signs SETs and Global Token Revocation client
//! assertions with it.
//!
//! ```text
//! cargo run -q -p sessions-bridge --example transmitter -- keys DIR
//!     writes DIR/private.pk8 (PKCS#8 DER) and DIR/jwks.json (the public key, kid "demo-1")
//! cargo run -q -p sessions-bridge --example transmitter -- set DIR ISS AUD EVENT EMAIL
//!     prints a SET: EVENT is session-revoked, credential-change, account-disabled,
//!     account-purged, sessions-revoked or verification; EMAIL its subject
//! cargo run -q -p sessions-bridge --example transmitter -- assertion DIR ISS AUD
//!     prints a client assertion for POST /global-token-revocation (valid two minutes)
//! ```

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use serde_json::json;

const KID: &str = "demo-1";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = match a.as_slice() {
        ["keys", dir] => keys(Path::new(dir)),
        ["set", dir, iss, aud, event, email] => set(Path::new(dir), iss, aud, event, email),
        ["assertion", dir, iss, aud] => assertion(Path::new(dir), iss, aud),
        _ => Err(
            "usage: transmitter keys DIR | set DIR ISS AUD EVENT EMAIL | assertion DIR ISS AUD"
                .into(),
        ),
    };
    match out {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}

type Result<T> = std::result::Result<T, String>;

fn keys(dir: &Path) -> Result<String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let secret = p256::SecretKey::random(&mut rand::thread_rng());
    let der = secret.to_pkcs8_der().map_err(|e| e.to_string())?;
    std::fs::write(dir.join("private.pk8"), der.as_bytes()).map_err(|e| e.to_string())?;
    let mut jwk: serde_json::Value =
        serde_json::from_str(&secret.public_key().to_jwk_string()).map_err(|e| e.to_string())?;
    jwk["kid"] = json!(KID);
    jwk["use"] = json!("sig");
    jwk["alg"] = json!("ES256");
    let jwks = json!({"keys": [jwk]}).to_string();
    std::fs::write(dir.join("jwks.json"), &jwks).map_err(|e| e.to_string())?;
    Ok(format!(
        "wrote {0}/private.pk8 and {0}/jwks.json",
        dir.display()
    ))
}

fn sign(dir: &Path, claims: &serde_json::Value, typ: &str) -> Result<String> {
    let der = std::fs::read(dir.join("private.pk8")).map_err(|e| {
        format!(
            "{}: {e} (run `keys` first)",
            dir.join("private.pk8").display()
        )
    })?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(KID.into());
    header.typ = Some(typ.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&der))
        .map_err(|e| e.to_string())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn jti() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn set(dir: &Path, iss: &str, aud: &str, event: &str, email: &str) -> Result<String> {
    let family = match event {
        "session-revoked" | "credential-change" => "caep",
        "account-disabled" | "account-purged" | "sessions-revoked" => "risc",
        "verification" => "ssf",
        other => return Err(format!("unknown event {other}")),
    };
    let uri = format!("https://schemas.openid.net/secevent/{family}/event-type/{event}");
    let payload = match event {
        "credential-change" => json!({"credential_type": "password", "change_type": "update"}),
        "verification" => json!({"state": jti()}),
        _ => json!({"event_timestamp": now()}),
    };
    let claims = json!({"iss": iss, "aud": aud, "iat": now(), "jti": jti(),
        "sub_id": {"format": "email", "email": email}, "events": {uri: payload}});
    sign(dir, &claims, "secevent+jwt")
}

fn assertion(dir: &Path, iss: &str, aud: &str) -> Result<String> {
    let claims =
        json!({"iss": iss, "sub": iss, "aud": aud, "jti": jti(), "iat": now(), "exp": now() + 120});
    sign(dir, &claims, "JWT")
}
