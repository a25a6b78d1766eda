//! The reference vectors: the AWS documentation's POST example and botocore's presigned POSTs
//! and URLs at a fixed clock. Signatures must match exactly; policy documents as parsed JSON.

use base64::Engine as _;
use serde_json::Value;
use signpost::{Credentials, Endpoint, Field, GetOptions, PostPolicy, Signer};
use std::collections::BTreeSet;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn signer_for(input: &Value) -> Signer {
    let creds = Credentials::new(s(&input["access_key_id"]), s(&input["secret_access_key"]))
        .with_session_token(input["session_token"].as_str().map(str::to_string));
    let endpoint = match input["endpoint"].as_str() {
        Some(url) => Endpoint::custom(url, input["path_style"].as_bool().unwrap()).unwrap(),
        None => Endpoint::aws().with_path_style(input["path_style"].as_bool().unwrap()),
    };
    Signer::new(creds, s(&input["region"]), endpoint)
}

fn now_of(input: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(s(&input["now"]), &Rfc3339).unwrap()
}

fn decode_policy(b64: &str) -> Value {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn aws_documentation_post_example() {
    let v = fixture("aws-docs-post-example.json");
    let date = time::Date::parse(
        s(&v["date"]),
        time::macros::format_description!("[year][month][day]"),
    )
    .unwrap();
    let now = date.midnight().assume_utc();
    let signer = Signer::new(
        Credentials::new(s(&v["access_key_id"]), s(&v["secret_access_key"])),
        s(&v["region"]),
        Endpoint::aws(),
    );
    assert_eq!(
        signer.sign_encoded_policy(s(&v["policy_base64"]), now),
        s(&v["signature"])
    );

    // The same conditions from the builder give the same policy, as a set of conditions.
    let policy = PostPolicy::builder("sigv4examplebucket")
        .key_prefix("user/user1/")
        .acl("public-read")
        .success_action_redirect(
            "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
        )
        .content_type_prefix("image/")
        .meta("uuid", "14365123651274")
        .server_side_encryption("AES256")
        .starts_with(Field::meta("tag"), "")
        .expires_at(OffsetDateTime::parse("2015-12-30T12:00:00Z", &Rfc3339).unwrap())
        .build(now)
        .unwrap();
    let form = signer.sign_post(&policy, now).unwrap();
    let ours = decode_policy(form.field("policy").unwrap());
    let theirs: Value = serde_json::from_str(s(&v["policy_text"])).unwrap();
    let set = |d: &Value| {
        d["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(set(&ours), set(&theirs));
    let exp = |d: &Value| OffsetDateTime::parse(s(&d["expiration"]), &Rfc3339).unwrap();
    assert_eq!(exp(&ours), exp(&theirs));
}

/// Builds the case's policy with the builder, asking for the same conditions botocore was given.
fn build_case(input: &Value) -> PostPolicy {
    let fields = input["fields"].as_object().unwrap();
    let mut b = PostPolicy::builder(s(&input["bucket"]))
        .key(s(&input["key"]))
        .expires_in(Duration::from_secs(input["expires_in"].as_u64().unwrap()));
    for c in input["conditions"].as_array().unwrap() {
        b = match c {
            Value::Object(m) => {
                let (name, value) = m.iter().next().unwrap();
                b.field(Field::parse(name).unwrap(), s(value))
            }
            Value::Array(a) if a[0] == "content-length-range" => {
                b.content_length_range(a[1].as_u64().unwrap(), a[2].as_u64().unwrap())
            }
            Value::Array(a) => {
                let name = s(&a[1]).trim_start_matches('$');
                let field = Field::parse(name).unwrap();
                match (s(&a[0]), fields.get(name)) {
                    ("eq", _) => b.field_eq(field, s(&a[2])),
                    ("starts-with", Some(value)) => b.field_with_prefix(field, s(&a[2]), s(value)),
                    ("starts-with", None) => b.starts_with(field, s(&a[2])),
                    (op, _) => panic!("unknown operator {op}"),
                }
            }
            other => panic!("unknown condition {other}"),
        };
    }
    b.build(now_of(input)).unwrap()
}

#[test]
fn botocore_presigned_posts() {
    let cases = fixture("presigned-post.json");
    for case in cases["cases"].as_array().unwrap() {
        let name = s(&case["name"]);
        let (input, out) = (&case["input"], &case["output"]);
        let signer = signer_for(input);
        let now = now_of(input);

        // The signature over botocore's own string to sign.
        assert_eq!(
            signer.sign_encoded_policy(s(&out["string_to_sign"]), now),
            s(&out["signature"]),
            "{name}"
        );

        let form = signer.sign_post(&build_case(input), now).unwrap();
        assert_eq!(form.url, s(&out["url"]), "{name}: url");
        // The policy document, as parsed JSON.
        assert_eq!(
            decode_policy(form.field("policy").unwrap()),
            out["policy_document"],
            "{name}: policy"
        );
        // The fields, except the policy encoding and its signature (serde_json's map sorts them).
        let theirs: Vec<(String, String)> = out["fields"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), s(v).to_string()))
            .collect();
        let strip = |f: &[(String, String)]| {
            f.iter()
                .filter(|(k, _)| k != "policy" && k != "x-amz-signature")
                .cloned()
                .collect::<BTreeSet<_>>()
        };
        assert_eq!(strip(&form.fields), strip(&theirs), "{name}: fields");
        // Our signature is the one S3 computes over our policy.
        assert_eq!(
            signer.sign_encoded_policy(form.field("policy").unwrap(), now),
            form.field("x-amz-signature").unwrap()
        );
        // boto3's JSON shape, fields in order.
        let json: Value = serde_json::to_value(&form).unwrap();
        assert_eq!(json["url"], out["url"]);
        assert_eq!(json["fields"]["key"], out["fields"]["key"]);
    }
}

fn query_set(url: &str) -> (String, BTreeSet<String>) {
    let (path, query) = url.split_once('?').unwrap();
    (
        path.to_string(),
        query.split('&').map(str::to_string).collect(),
    )
}

#[test]
fn botocore_presigned_urls() {
    let cases = fixture("presigned-url.json");
    for case in cases["cases"].as_array().unwrap() {
        let name = s(&case["name"]);
        let input = &case["input"];
        let signer = signer_for(input);
        let now = now_of(input);
        let params = &input["params"];
        let expires = Duration::from_secs(input["expires_in"].as_u64().unwrap());
        let (bucket, key) = (s(&params["Bucket"]), s(&params["Key"]));
        let url = match s(&input["operation"]) {
            "get_object" => {
                let opts = GetOptions {
                    response_content_disposition: params["ResponseContentDisposition"].as_str(),
                    response_content_type: params["ResponseContentType"].as_str(),
                };
                signer
                    .presign_get(bucket, key, expires, now, &opts)
                    .unwrap()
            }
            "put_object" => signer
                .presign_put(bucket, key, expires, now, params["ContentType"].as_str())
                .unwrap(),
            op => panic!("unknown operation {op}"),
        };
        assert_eq!(
            query_set(&url),
            query_set(s(&case["output"]["url"])),
            "{name}"
        );
    }
}

#[test]
fn signing_key_is_cached_per_day_and_key() {
    let signer = Signer::new(Credentials::new("AK", "SK"), "us-east-1", Endpoint::aws());
    let day1 = OffsetDateTime::parse("2026-03-14T10:00:00Z", &Rfc3339).unwrap();
    let a = signer.sign_encoded_policy("cG9saWN5", day1);
    assert_eq!(
        a,
        signer.sign_encoded_policy("cG9saWN5", day1 + Duration::from_secs(3600))
    );
    // A new day, or new credentials, derive a new key.
    assert_ne!(
        a,
        signer.sign_encoded_policy("cG9saWN5", day1 + Duration::from_secs(86_400))
    );
    signer.set_credentials(Credentials::new("AK2", "SK2"));
    assert_ne!(a, signer.sign_encoded_policy("cG9saWN5", day1));
}
