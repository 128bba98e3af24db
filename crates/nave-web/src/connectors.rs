//! What connector platforms (Zapier, Make) receive: a record as one flat JSON
//! object (ADR 0016). REST-hook deliveries, polling triggers and hook samples
//! all go through [`item`], so a sample looks exactly like what arrives.
//!
//! Flat means: nested objects become keys joined by `_` (`totals.total` →
//! `totals_total`, `billing_address.city` → `billing_address_city`); arrays
//! stay arrays of flat objects; a document's `groups` become one `lines`
//! array, each line naming its `group`. Items standing for a change (the
//! `*.updated` hooks, `updated-*` triggers) carry `id` = `{record id}:{version}`
//! and the record's id in `record_id`, since connectors deduplicate by `id`.

use serde_json::{Map, Value};

/// A record (as the API shows it to the reader) as a connector's item;
/// `change` is the record's version when the item stands for a change.
pub fn item(record: &Value, change: Option<i64>) -> Value {
    let mut v = flat(&lines_of_groups(record));
    if let (Some(version), Value::Object(m)) = (change, &mut v)
        && let Some(id) = m.get("id").and_then(Value::as_str).map(str::to_string)
    {
        m.insert("record_id".into(), Value::String(id.clone()));
        m.insert("id".into(), Value::String(format!("{id}:{version}")));
    }
    v
}

/// The body of a REST-hook delivery of `event_type` (the delivery's type:
/// `invoice.issued` is delivered as the new invoice it is).
pub fn hook_body(event_type: &str, payload: &Value, version: i64) -> Value {
    let change = event_type.ends_with(".updated").then_some(version);
    item(payload, change)
}

/// A document's `groups` as one `lines` array; other records unchanged.
fn lines_of_groups(record: &Value) -> Value {
    let Value::Object(m) = record else { return record.clone() };
    let Some(Value::Array(groups)) = m.get("groups") else { return record.clone() };
    let mut out = m.clone();
    let mut lines = Vec::new();
    for g in groups {
        let name = g.get("name").cloned().unwrap_or(Value::String(String::new()));
        for l in g.get("lines").and_then(Value::as_array).into_iter().flatten() {
            let mut l = l.clone();
            if let Value::Object(lm) = &mut l {
                lm.insert("group".into(), name.clone());
            }
            lines.push(l);
        }
    }
    out.remove("groups");
    out.insert("lines".into(), Value::Array(lines));
    Value::Object(out)
}

/// Nested objects flattened into `parent_child` keys.
pub fn flat(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            flatten_into(&mut out, "", m);
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(flat).collect()),
        other => other.clone(),
    }
}

fn flatten_into(out: &mut Map<String, Value>, prefix: &str, m: &Map<String, Value>) {
    for (k, v) in m {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}_{k}") };
        match v {
            Value::Object(inner) if inner.is_empty() => {
                out.insert(key, Value::Null);
            }
            Value::Object(inner) => flatten_into(out, &key, inner),
            Value::Array(items) => {
                out.insert(key, Value::Array(items.iter().map(flat).collect()));
            }
            other => {
                out.insert(key, other.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_objects_flatten_and_document_groups_become_lines() {
        let doc = json!({"id": "d1", "totals": {"total": "12.00", "taxes": [{"name": "VAT"}]},
            "groups": [{"name": "A", "lines": [{"sku": "X", "taxes": []}]}, {"name": "", "lines": [{"sku": "Y"}]}]});
        let v = item(&doc, None);
        assert_eq!(v["totals_total"], "12.00");
        assert_eq!(v["totals_taxes"][0]["name"], "VAT");
        assert_eq!(v["lines"][0]["group"], "A");
        assert_eq!(v["lines"][1]["sku"], "Y");
        assert!(v.get("groups").is_none());
    }

    #[test]
    fn a_change_gets_an_id_of_its_own_and_keeps_the_records() {
        let v = hook_body("account.updated", &json!({"id": "a1", "name": "Acme"}), 3);
        assert_eq!(v["id"], "a1:3");
        assert_eq!(v["record_id"], "a1");
        let v = hook_body("account.created", &json!({"id": "a1"}), 1);
        assert_eq!(v["id"], "a1");
    }
}
