//! Response decoding: envelope and payload in one pass over the body.
//!
//! The obvious approach decodes the body twice (once as [`Envelope`], once as the payload),
//! which on a 1000-session `list` page costs a second scan of ~340 KB. Instead the payload's
//! own `Deserialize` is driven through a map adapter that peels the envelope's keys off as
//! they stream past. Any failure falls back to the careful two-step path (envelope first, then
//! the payload with JSON-path tracking), so errors are reported exactly as before.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::Deserialize;
use sessions_wire::{Envelope, ErrorCode, ResponseMetadata};

use crate::error::Error;

/// Decodes a 2xx body: `Ok(Ok(..))` for `ok:true`, `Ok(Err(envelope))` for `ok:false`.
pub(crate) fn decode_body<T: DeserializeOwned>(
    bytes: &[u8],
) -> Result<Result<(T, Envelope), Envelope>, Error> {
    if let Ok((data, env)) = one_pass::<T>(bytes) {
        return Ok(if env.ok { Ok((data, env)) } else { Err(env) });
    }
    let env: Envelope = decode_tracked(bytes)?;
    if !env.ok {
        return Ok(Err(env));
    }
    let data = decode_tracked::<T>(bytes)?;
    Ok(Ok((data, env)))
}

/// Decodes `T`, naming the JSON path of the first problem.
pub(crate) fn decode_tracked<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let v: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| Error::Decode {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    // Trailing garbage after the document.
    de.end().map_err(|e| Error::Decode {
        path: ".".to_owned(),
        message: e.to_string(),
    })?;
    Ok(v)
}

fn one_pass<T: DeserializeOwned>(bytes: &[u8]) -> Result<(T, Envelope), serde_json::Error> {
    let mut env = Envelope::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let data = T::deserialize(Split {
        inner: &mut de,
        env: &mut env,
    })?;
    de.end()?;
    Ok((data, env))
}

/// A deserializer presenting the top-level JSON object to the payload type minus the
/// envelope keys, which it records in `env`.
struct Split<'a, D> {
    inner: D,
    env: &'a mut Envelope,
}

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for Split<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(MapVisitor {
            visitor,
            env: self.env,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct MapVisitor<'a, V> {
    visitor: V,
    env: &'a mut Envelope,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for MapVisitor<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.visitor.visit_map(SplitMap {
            map,
            env: self.env,
            pending_meta: None,
        })
    }
}

struct SplitMap<'a, A> {
    map: A,
    env: &'a mut Envelope,
    /// `response_metadata` belongs to both: kept for the envelope, replayed to the payload.
    pending_meta: Option<ResponseMetadata>,
}

/// A key as it arrives; borrowed when the JSON has no escapes.
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KV;
        impl<'de> Visitor<'de> for KV {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(KV)
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for SplitMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.map.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            let name = match &key {
                Key::Borrowed(s) => *s,
                Key::Owned(s) => s.as_str(),
            };
            match name {
                "ok" => self.env.ok = self.map.next_value()?,
                "error" => self.env.error = self.map.next_value::<Option<ErrorCode>>()?,
                "warning" => self.env.warning = self.map.next_value()?,
                "needed" => self.env.needed = self.map.next_value()?,
                "provided" => self.env.provided = self.map.next_value()?,
                "response_metadata" => {
                    let meta: Option<ResponseMetadata> = self.map.next_value()?;
                    self.env.response_metadata = meta.clone();
                    if let Some(meta) = meta {
                        self.pending_meta = Some(meta);
                        return seed.deserialize(name.into_deserializer()).map(Some);
                    }
                }
                _ => {
                    return match key {
                        Key::Borrowed(s) => {
                            seed.deserialize(de::value::BorrowedStrDeserializer::new(s))
                        }
                        Key::Owned(s) => seed.deserialize(s.into_deserializer()),
                    }
                    .map(Some)
                }
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        match self.pending_meta.take() {
            Some(meta) => {
                // Replay the small metadata object through serde_json's own deserializer.
                let value = serde_json::to_value(meta).map_err(de::Error::custom)?;
                seed.deserialize(value).map_err(de::Error::custom)
            }
            None => self.map.next_value_seed(seed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessions_wire::{GetSettingsResponse, ListResponse};

    #[test]
    fn one_pass_matches_two_pass() {
        let body = br#"{"ok":true,"warning":"w","active_sessions":[{"user_id":"W\u0031","team_id":"T1",
            "session_id":"5","created":{}}],"response_metadata":{"next_cursor":"abc","messages":["m"]},
            "extra":{"nested":[1,2,{"ok":false}]}}"#;
        let (data, env) = one_pass::<ListResponse>(body).unwrap();
        let two: ListResponse = serde_json::from_slice(body).unwrap();
        let env2: Envelope = serde_json::from_slice(body).unwrap();
        assert_eq!(data, two);
        assert_eq!(env, env2);
        assert_eq!(data.next_cursor(), Some("abc"));
        assert_eq!(data.active_sessions[0].user_id, "W1");
    }

    #[test]
    fn ok_false_yields_envelope() {
        let body = br#"{"ok":false,"error":"invalid_cursor","response_metadata":{"messages":["[ERROR] x"]}}"#;
        let env = decode_body::<ListResponse>(body).unwrap().unwrap_err();
        assert_eq!(env.error, Some(ErrorCode::InvalidCursor));
        assert_eq!(env.messages(), ["[ERROR] x"]);
    }

    #[test]
    fn failures_fall_back_to_tracked_paths() {
        let body = br#"{"ok":true,"session_settings":[{"user_id":"W1","duration":"long"}]}"#;
        match decode_body::<GetSettingsResponse>(body) {
            Err(Error::Decode { path, .. }) => assert_eq!(path, "session_settings[0].duration"),
            other => panic!("{other:?}"),
        }
        // ok:false wins over a payload that would not decode.
        let body = br#"{"active_sessions":7,"ok":false,"error":"not_authed"}"#;
        let env = decode_body::<ListResponse>(body).unwrap().unwrap_err();
        assert_eq!(env.error, Some(ErrorCode::NotAuthed));
        assert!(matches!(
            decode_body::<ListResponse>(b"{} x"),
            Err(Error::Decode { .. })
        ));
    }
}
