//! The doctor's S3 calls: short presigned requests whose answers (status, headers, body and
//! the local time around them) the checks read.

use super::parse::{http_date, CorsConfiguration, LifecycleConfiguration};
use super::*;

/// Where the operator sets what a failed check is about.
pub(super) struct Hints {
    pub(super) id: &'static str,
    pub(super) secret: &'static str,
}

impl Hints {
    pub(super) fn of(source: &CredentialSource) -> Self {
        match source {
            CredentialSource::Static { .. } => Self {
                id: "s3.access_key_id (or SIGNPOST_S3_ACCESS_KEY_ID)",
                secret: "s3.secret_access_key (or SIGNPOST_S3_SECRET_ACCESS_KEY)",
            },
            CredentialSource::Env => Self {
                id: "AWS_ACCESS_KEY_ID",
                secret: "AWS_SECRET_ACCESS_KEY",
            },
            CredentialSource::AwsChain => Self {
                id: "the access key the AWS chain found (AWS_PROFILE, ~/.aws, the role)",
                secret: "the secret the AWS chain found (AWS_PROFILE, ~/.aws, the role)",
            },
        }
    }
}

/// The S3 calls, through short presigned URLs.
pub(super) struct S3<'s> {
    pub(super) http: reqwest::Client,
    pub(super) signer: &'s Signer,
    pub(super) hints: Hints,
}

/// An answer, with the local time around it.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: reqwest::header::HeaderMap,
    pub(super) body: String,
    pub(super) sent: OffsetDateTime,
    pub(super) received: OffsetDateTime,
}

impl Answer {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

const CALL_EXPIRY: Duration = Duration::from_secs(60);

impl S3<'_> {
    pub(super) async fn send(&self, req: &UrlRequest<'_>) -> Result<Answer, String> {
        let sent = OffsetDateTime::now_utc();
        let url = self.signer.presign(req, sent).map_err(|e| e.to_string())?;
        let verb = reqwest::Method::from_bytes(req.method.as_str().as_bytes())
            .map_err(|e| e.to_string())?;
        let resp = self
            .http
            .request(verb, &url)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let received = OffsetDateTime::now_utc();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        Ok(Answer {
            status,
            headers,
            body,
            sent,
            received,
        })
    }

    pub(super) fn unreachable(&self, e: &str) -> String {
        let ep = self.signer.endpoint().bucket_url("", self.signer.region());
        format!(
            "could not reach S3 at {}: {e}; check s3.endpoint and that the store is up",
            ep.trim_end_matches('/')
        )
    }

    /// A signed HeadBucket; on a refusal, a signed ListObjectsV2 to read S3's error code
    /// (a HEAD answer has no body).
    pub(super) async fn head_bucket(
        &self,
        b: &Bucket,
    ) -> (
        Finding,
        Option<(OffsetDateTime, OffsetDateTime, OffsetDateTime)>,
    ) {
        let head = match self
            .send(&UrlRequest::new(Method::Head, &b.name, "", CALL_EXPIRY))
            .await
        {
            Ok(a) => a,
            Err(e) => {
                let text = format!("bucket {}: {}", b.name, self.unreachable(&e));
                return (Finding::new(Level::Fail, "credentials", text), None);
            }
        };
        let date = head
            .header("date")
            .and_then(http_date)
            .map(|d| (head.sent, head.received, d));
        let mut code = None;
        let mut body_region = None;
        if !(200..300).contains(&head.status) && head.status != 404 {
            let list = UrlRequest::new(Method::Get, &b.name, "", CALL_EXPIRY)
                .with_query("list-type", "2")
                .with_query("max-keys", "1");
            if let Ok(a) = self.send(&list).await {
                code = tag(&a.body, "Code");
                body_region = tag(&a.body, "Region");
            }
        }
        let region_hint = head
            .header("x-amz-bucket-region")
            .map(str::to_string)
            .or(body_region);
        let finding = judge_head(&HeadAnswer {
            bucket: &b.name,
            users: &b.users(),
            status: head.status,
            code: code.as_deref(),
            bucket_region: region_hint.as_deref(),
            region: self.signer.region(),
            access_key: self.signer.credentials().access_key_id(),
            hints: &self.hints,
        });
        (finding, date)
    }

    /// Preflights POST and PUT from `origin`, then reads the rules for `ETag`.
    pub(super) async fn cors(&self, b: &Bucket, origin: &str) -> Finding {
        let url = self
            .signer
            .endpoint()
            .bucket_url(&b.name, self.signer.region());
        let mut allowed = Vec::new();
        let mut refused = Vec::new();
        let methods: &[&str] = if b.profiles.is_empty() {
            &["PUT"]
        } else {
            &["POST", "PUT"]
        };
        for &method in methods {
            let mut req = self
                .http
                .request(reqwest::Method::OPTIONS, &url)
                .header("Origin", origin)
                .header("Access-Control-Request-Method", method);
            if method == "PUT" {
                req = req.header("Access-Control-Request-Headers", "content-type");
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    let e = e.without_url().to_string();
                    return Finding::new(
                        Level::Fail,
                        "cors",
                        format!(
                            "bucket {}: the preflight got no answer: {}",
                            b.name,
                            self.unreachable(&e)
                        ),
                    );
                }
            };
            let h = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok());
            let ok = preflight_allows(
                resp.status().as_u16(),
                h("access-control-allow-origin"),
                h("access-control-allow-methods"),
                origin,
                method,
            );
            if ok {
                allowed.push(method)
            } else {
                refused.push(method)
            }
        }
        let rules = self
            .send(&UrlRequest::new(Method::Get, &b.name, "", CALL_EXPIRY).with_query("cors", ""))
            .await;
        let rules = match rules {
            Ok(a) if a.status == 200 => CorsConfiguration::parse(&a.body)
                .map_err(|e| format!("its XML could not be read: {e}")),
            Ok(a) => Err(format!(
                "GET ?cors answered {} {}",
                a.status,
                tag(&a.body, "Code").unwrap_or_default()
            )),
            Err(e) => Err(e),
        };
        judge_cors(
            &b.name,
            origin,
            &allowed,
            &refused,
            rules.as_ref().map_err(String::as_str),
        )
    }

    pub(super) async fn lifecycle(&self, b: &Bucket) -> Finding {
        let req =
            UrlRequest::new(Method::Get, &b.name, "", CALL_EXPIRY).with_query("lifecycle", "");
        let name = &b.name;
        match self.send(&req).await {
            Ok(a) if a.status == 200 => match LifecycleConfiguration::parse(&a.body) {
                Ok(c) => match c.abort_rule_for(&b.key_prefixes) {
                    Some(r) => {
                        let days = r.abort_incomplete_multipart_upload.as_ref().and_then(|x| x.days_after_initiation);
                        Finding::new(Level::Ok, "lifecycle", format!(
                            "bucket {name}: rule `{}` aborts multipart uploads left unfinished{}",
                            r.id.as_deref().unwrap_or("(no ID)"),
                            days.map(|d| format!(" for {d} day{}", if d == 1 { "" } else { "s" })).unwrap_or_default()
                        ))
                    }
                    None => Finding::new(Level::Warn, "lifecycle", format!(
                        "bucket {name}: no enabled lifecycle rule aborts unfinished multipart uploads under {}, so their parts stay (and are billed) forever; add this rule to the bucket's lifecycle configuration (a PUT ?lifecycle replaces the whole configuration, so keep the rules already there):",
                        b.key_prefixes.iter().map(|p| if p.is_empty() { "the whole bucket".to_string() } else { format!("`{p}`") }).collect::<Vec<_>>().join(", ")
                    )).paste(lifecycle_rule_xml()),
                },
                Err(e) => Finding::new(Level::Warn, "lifecycle", format!("bucket {name}: the lifecycle configuration could not be read ({e}); check by hand that a rule aborts unfinished multipart uploads")),
            },
            Ok(a) => {
                let code = tag(&a.body, "Code").unwrap_or_else(|| a.status.to_string());
                if code == "NoSuchLifecycleConfiguration" {
                    Finding::new(Level::Warn, "lifecycle", format!(
                        "bucket {name}: no lifecycle configuration (NoSuchLifecycleConfiguration), so the parts of abandoned multipart uploads stay (and are billed) forever; PUT this XML to the bucket's ?lifecycle (or make the same rule in the store's console):"
                    )).paste(lifecycle_xml())
                } else {
                    Finding::new(Level::Warn, "lifecycle", format!(
                        "bucket {name}: the lifecycle configuration could not be read (GET ?lifecycle answered {} {code}); grant s3:GetLifecycleConfiguration, or check by hand that a rule aborts unfinished multipart uploads", a.status
                    ))
                }
            }
            Err(e) => Finding::new(Level::Warn, "lifecycle", format!("bucket {name}: {}", self.unreachable(&e))),
        }
    }
}
