//! A caller from a verified token's claims: the user from `user_claim`, the roles from
//! `roles_claim` (a string or a list). A claim name is looked up as it is first
//! (`cognito:groups`), then as a dotted path into nested objects (Keycloak's
//! `realm_access.roles`).

use super::{AuthError, Caller};
use serde_json::Value;

/// The claim `name`, or the value at its dotted path.
pub(super) fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(name) {
        return Some(v);
    }
    if !name.contains('.') {
        return None;
    }
    name.split('.').try_fold(claims, |v, part| v.get(part))
}

/// The caller the claims describe; a token without the user claim is refused.
pub(super) fn caller(
    claims: &Value,
    user_claim: &str,
    roles_claim: &str,
) -> Result<Caller, AuthError> {
    let user = match claim(claims, user_claim) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(AuthError::Invalid(format!(
                "it has no `{user_claim}` claim"
            )))
        }
    };
    let roles = match claim(claims, roles_claim) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Number(n)) => vec![n.to_string()],
        _ => vec![],
    };
    let name = ["name", "preferred_username", "email"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(Value::as_str))
        .filter(|n| !n.trim().is_empty())
        .map(str::to_string);
    Ok(Caller {
        user,
        roles,
        all_roles: false,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_by_name_or_by_dotted_path() {
        let c = json!({"sub": "u1", "cognito:groups": ["tier1"],
            "realm_access": {"roles": ["tier2", "admin"]}, "name": "Ann"});
        let a = caller(&c, "sub", "cognito:groups").unwrap();
        assert_eq!(
            (a.user.as_str(), a.roles.as_slice()),
            ("u1", &["tier1".to_string()][..])
        );
        assert_eq!(a.name.as_deref(), Some("Ann"));
        let k = caller(&c, "sub", "realm_access.roles").unwrap();
        assert_eq!(k.roles, ["tier2", "admin"]);
        assert!(caller(&c, "email", "groups").is_err());
    }
}
