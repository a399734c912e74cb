//! The document covers the method table, says what the request types read, and is well-formed
//! OpenAPI 3.

use std::collections::BTreeSet;

use serde_json::Value;
use sessions_wire::{Args, METHOD_NAMES};

use super::methods::{specs, Spec};
use super::*;

#[test]
fn every_method_of_the_table_is_documented_once_with_its_tier_and_scope() {
    let doc = document();
    let paths: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let mut expected: BTreeSet<String> = METHOD_NAMES.iter().map(|m| format!("/api/{m}")).collect();
    expected.insert("/audit/v1/logs".into());
    assert_eq!(paths, expected);
    assert_eq!(specs().len(), METHOD_NAMES.len(), "one spec per method");
    for spec in specs() {
        let op = &doc["paths"][format!("/api/{}", spec.name)]["post"];
        assert_eq!(op["x-slack-rate-tier"], tier(spec.tier), "{}", spec.name);
        assert_eq!(
            op["x-slack-scope"].as_str().unwrap_or(""),
            spec.scope.as_str(),
            "{}",
            spec.name
        );
        assert_eq!(op["operationId"], spec.name.replace('.', "_"));
    }
    // The tiers the emulator enforces, not a copy.
    let op = &doc["paths"]["/api/admin.users.session.getSettings"]["post"];
    assert_eq!(op["x-slack-rate-tier"], "4");
    assert_eq!(
        doc["paths"]["/api/auth.test"]["post"]["x-slack-rate-tier"],
        "special"
    );
}

/// A value the schema allows, as a form field.
fn sample(name: &str, schema: &Value) -> String {
    if let Some(e) = schema["enum"].as_array() {
        // The last: `mobile_only` and `web_only` may not both be true.
        return e.last().unwrap().as_str().unwrap().to_owned();
    }
    match schema["type"].as_str().unwrap() {
        "integer" => schema["minimum"].as_u64().unwrap_or(1).max(1).to_string(),
        "boolean" => "true".into(),
        _ if name == "email" => "dana@acme.example".into(),
        _ if name.ends_with("_ids") => "W1,W2".into(),
        _ => "W1".into(),
    }
}

fn form(spec: &Spec, skip: Option<&str>) -> Args {
    spec.args
        .iter()
        .filter(|a| Some(a.name) != skip)
        .map(|a| (a.name, sample(a.name, &a.schema)))
        .collect()
}

#[test]
fn documented_arguments_are_the_ones_the_request_types_read() {
    // Read and accepted, but never sent back: no locale is stored.
    let ignored = ["include_locale"];
    for spec in specs() {
        let written = (spec.check)(&form(&spec, None))
            .unwrap_or_else(|e| panic!("{}: documented arguments refused: {e}", spec.name));
        let written: BTreeSet<&str> = written.into_iter().collect();
        let documented: BTreeSet<&str> = spec
            .args
            .iter()
            .map(|a| a.name)
            .filter(|n| !ignored.contains(n))
            .collect();
        assert_eq!(written, documented, "{}", spec.name);
        for a in spec.args.iter().filter(|a| a.required) {
            assert!(
                (spec.check)(&form(&spec, Some(a.name))).is_err(),
                "{}: {} is documented as required",
                spec.name,
                a.name
            );
        }
    }
}

/// Every field a wire value writes is a property its schema declares. (The other way round,
/// that required fields are written, is checked on real answers: the server's integration
/// tests and schemathesis' response schema check; a default value leaves optional ones out.)
fn holds_to(at: &str, schema: &Value, value: &Value) {
    let props = schema["properties"].as_object().unwrap();
    for key in value.as_object().unwrap().keys() {
        assert!(
            props.contains_key(key),
            "{at}: the wire type writes undocumented {key}"
        );
    }
}

#[test]
fn answer_schemas_match_the_wire_types() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    for spec in specs() {
        holds_to(spec.name, &schemas[spec.ok], &(spec.ok_sample)());
    }
    fn sample<T: Default + serde::Serialize>() -> Value {
        serde_json::to_value(T::default()).unwrap()
    }
    use sessions_wire::audit::{AuditLogEntry, AuditLogsResponse};
    for (at, schema, value) in [
        ("User", &schemas["User"], sample::<sessions_wire::User>()),
        (
            "User/profile",
            &schemas["User"]["properties"]["profile"],
            sample::<sessions_wire::UserProfile>(),
        ),
        (
            "DeviceInfo",
            &schemas["DeviceInfo"],
            sample::<sessions_wire::DeviceInfo>(),
        ),
        (
            "AuditLogEntry",
            &schemas["AuditLogEntry"],
            sample::<AuditLogEntry>(),
        ),
        (
            "AuditLogsOk",
            &schemas["AuditLogsOk"],
            sample::<AuditLogsResponse>(),
        ),
    ] {
        holds_to(at, schema, &value);
    }
}

#[test]
fn limits_come_from_the_wire_constants() {
    let doc = document();
    let body = |m: &str| {
        doc["paths"][format!("/api/{m}")]["post"]["requestBody"]["content"]
            ["application/x-www-form-urlencoded"]["schema"]["properties"]
            .clone()
    };
    let d = &body("admin.users.session.setSettings")["duration"];
    assert_eq!(d["minimum"], sessions_wire::DURATION_MIN);
    assert_eq!(d["maximum"], sessions_wire::DURATION_MAX);
    assert_eq!(
        body("admin.users.session.list")["limit"]["maximum"],
        sessions_wire::LIST_LIMIT_MAX
    );
    assert_eq!(
        body("users.lookupByEmail")["email"]["maxLength"],
        sessions_wire::EMAIL_MAX_LEN
    );
}

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

/// Checks a schema object (OpenAPI 3.0's subset of JSON Schema) and those inside it.
fn check_schema(at: &str, s: &Value) {
    let o = s
        .as_object()
        .unwrap_or_else(|| panic!("{at}: not an object"));
    if o.contains_key("$ref") {
        assert_eq!(o.len(), 1, "{at}: $ref with siblings");
        return;
    }
    if let Some(t) = o.get("type") {
        let t = t.as_str().unwrap_or_else(|| panic!("{at}: type"));
        assert!(
            ["object", "array", "string", "integer", "number", "boolean"].contains(&t),
            "{at}: type {t}"
        );
        if t == "array" {
            check_schema(&format!("{at}/items"), &o["items"]);
        }
    }
    if let Some(p) = o.get("properties") {
        let p = p.as_object().unwrap();
        for (k, v) in p {
            check_schema(&format!("{at}/properties/{k}"), v);
        }
        if let Some(r) = o.get("required") {
            for name in r.as_array().unwrap() {
                assert!(
                    p.contains_key(name.as_str().unwrap()),
                    "{at}: required {name}"
                );
            }
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = o.get(key) {
            for (i, v) in list.as_array().unwrap().iter().enumerate() {
                check_schema(&format!("{at}/{key}/{i}"), v);
            }
        }
    }
    if let Some(e) = o.get("enum") {
        assert!(!e.as_array().unwrap().is_empty(), "{at}: empty enum");
    }
}

#[test]
fn the_document_is_well_formed_openapi_3() {
    let doc = document();
    // What is served is what is built.
    assert_eq!(serde_json::from_str::<Value>(&DOCUMENT).unwrap(), doc);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0."));
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        assert!(path.starts_with('/'), "{path}");
        for (verb, op) in item.as_object().unwrap() {
            assert!(["get", "post"].contains(&verb.as_str()), "{path}: {verb}");
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                "{path}: id"
            );
            for requirement in op["security"].as_array().unwrap() {
                for name in requirement.as_object().unwrap().keys() {
                    assert!(schemes.contains_key(name), "{path}: scheme {name}");
                }
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("200"), "{path}");
            for (code, r) in responses {
                assert!(
                    code.len() == 3 && code.parse::<u16>().is_ok(),
                    "{path}: {code}"
                );
                assert!(
                    r["$ref"].is_string() || r["description"].is_string(),
                    "{path}: {code}"
                );
            }
            for (ct, media) in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                check_schema(&format!("{path} {ct}"), &media["schema"]);
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(p["name"].is_string() && p["in"] == "query", "{path}: {p}");
                check_schema(&format!("{path} {}", p["name"]), &p["schema"]);
            }
        }
    }
    for (name, s) in doc["components"]["schemas"].as_object().unwrap() {
        check_schema(name, s);
    }
    for (name, r) in doc["components"]["responses"].as_object().unwrap() {
        assert!(r["description"].is_string(), "{name}");
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 20);
    for r in all {
        let ptr = r.strip_prefix('#').unwrap();
        assert!(doc.pointer(ptr).is_some(), "dangling {r}");
    }
}
