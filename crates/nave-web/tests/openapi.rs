//! The OpenAPI document is generated from the code; this snapshot makes every
//! change to the API contract visible in review.

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let spec: serde_json::Value = serde_json::from_str(&nave_web::openapi_json()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    for path in [
        "/api/v1/accounts",
        "/api/v1/accounts/{id}",
        "/api/v1/accounts/{id}/contacts",
        "/api/v1/contacts",
        "/api/v1/contacts/{id}",
        "/api/v1/users",
        "/api/v1/roles",
        "/api/v1/teams",
        "/api/v1/tokens",
        "/api/v1/audit-log",
        "/api/v1/events",
        "/api/v1/me",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} is documented");
    }
    insta::assert_json_snapshot!("openapi", spec);
}
