//! Signing in and out with the OpenID provider: `GET /login` sends the browser to the provider,
//! `GET /auth/callback` takes it back and sets the session cookie, `GET /logout` asks to
//! confirm, `POST /logout` ends the session (and the provider's, when it offers that), and
//! `GET /signed-out` says so.

use crate::server::auth::oidc::{LoginError, OidcProvider};
use crate::server::auth::session::{
    self, Login, Session, LOGIN_COOKIE, LOGIN_EXPIRES, SESSION_COOKIE,
};
use crate::server::error::{PageError, ServiceError};
use crate::server::nav::Nav;
use crate::server::state::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use http::{header, HeaderMap, HeaderValue};
use serde::Deserialize;
use std::sync::Arc;

/// The sign-in routes (they answer 404 unless `[auth] mode = "oidc"`).
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/login", get(login))
        .route("/auth/callback", get(callback))
        .route("/logout", get(sign_out_page).post(logout))
        .route("/signed-out", get(sign_out_page))
}

/// The login cookie is sent back only to the callback.
const LOGIN_PATH: &str = "/auth/";
/// A session cookie bigger than this may be dropped by browsers (4 KiB per cookie).
const COOKIE_LIMIT: usize = 3800;

fn provider(state: &AppState) -> Result<&OidcProvider, PageError> {
    state.auth.oidc().ok_or_else(|| {
        PageError(ServiceError::NotFound(
            "this site does not sign people in with a sign-in service".into(),
        ))
    })
}

/// A 303 to `to` that sets `cookies` and is never cached.
fn redirect_with(to: &str, cookies: &[String]) -> Response {
    let mut resp = Redirect::to(to).into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    resp
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// `GET /login?next=/path`: to the provider, with a fresh state, nonce and PKCE challenge.
async fn login(
    State(state): State<Arc<AppState>>,
    Query(q): Query<LoginQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let op = provider(&state)?;
    let next = session::local_path(q.next.as_deref());
    let now = state.now();
    if state.auth.session_caller(&headers, now).is_some() {
        return Ok(redirect_with(&next, &[]));
    }
    let key = &state.state_key;
    let (url, login) = op.begin(key, next, now);
    let cookie = session::set_cookie(
        LOGIN_COOKIE,
        &login.seal(key),
        LOGIN_PATH,
        LOGIN_EXPIRES,
        state.secure_cookies(),
    );
    Ok(redirect_with(&url, &[cookie]))
}

#[derive(Debug, Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// The provider's error code, when it is a plain word (it comes from the URL).
fn error_word(e: &str) -> &str {
    if !e.is_empty() && e.len() <= 40 && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        e
    } else {
        "an unknown error"
    }
}

/// `GET /auth/callback?code=…&state=…`: checks the state against the login cookie, redeems
/// the code, checks the ID token, and sets the session cookie.
async fn callback(
    State(state): State<Arc<AppState>>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let op = provider(&state)?;
    let key = &state.state_key;
    let now = state.now();
    let secure = state.secure_cookies();
    let again = "; sign in again";
    let login = session::cookie(&headers, LOGIN_COOKIE)
        .and_then(|c| Login::open(c, key, now))
        .ok_or_else(|| {
            ServiceError::BadRequest(format!(
                "this sign-in took too long, or was started in another browser{again}"
            ))
        })?;
    if let Some(e) = q.error.as_deref() {
        let words = if e == "access_denied" {
            "signing in was cancelled".to_string()
        } else {
            format!(
                "the sign-in service did not sign you in ({}){again}",
                error_word(e)
            )
        };
        return Err(ServiceError::Forbidden(words).into());
    }
    if q.state.as_deref() != Some(login.s.as_str()) {
        return Err(ServiceError::BadRequest(format!(
            "this answer from the sign-in service does not belong to the sign-in started here{again}"
        ))
        .into());
    }
    let code = q.code.filter(|c| !c.is_empty()).ok_or_else(|| {
        ServiceError::BadRequest(format!("the sign-in service sent no answer{again}"))
    })?;
    let caller = op
        .finish(
            key,
            &login,
            &code,
            state.auth.user_claim(),
            state.auth.roles_claim(),
            now,
        )
        .await
        .map_err(|e| {
            tracing::warn!(cause = e.cause(), "sign-in failed");
            match e {
                LoginError::Provider(_) => {
                    ServiceError::Upstream(format!("{e}; try again in a moment"))
                }
                LoginError::Rejected(_) => ServiceError::BadRequest(format!("{e}{again}")),
                LoginError::NoUser(_) => ServiceError::Forbidden(format!(
                    "{e}; ask the operator to check the sign-in settings"
                )),
            }
        })?;
    let sealed = Session::new(&caller, now, op.session_expires).seal(key);
    if sealed.len() > COOKIE_LIMIT {
        tracing::warn!(user = %caller.user, bytes = sealed.len(), "the session cookie is large (many roles?); browsers may drop it");
    }
    tracing::info!(user = %caller.user, "signed in");
    let cookies = [
        session::set_cookie(SESSION_COOKIE, &sealed, "/", op.session_expires, secure),
        session::clear_cookie(LOGIN_COOKIE, LOGIN_PATH, secure),
    ];
    Ok(redirect_with(&login.next, &cookies))
}

#[derive(Template)]
#[template(path = "signout.html")]
struct SignOutPage<'a> {
    nav: &'a Nav,
    signed_out: bool,
}

/// `GET /logout`: a page with the sign-out button (signing out takes a POST); also
/// `GET /signed-out`, where the provider sends people back, which then says they are out.
async fn sign_out_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Html<String>, PageError> {
    provider(&state)?;
    let caller = state.auth.session_caller(&headers, state.now());
    let nav = Nav::new(&state, caller.as_ref());
    render(&SignOutPage {
        nav: &nav,
        signed_out: caller.is_none(),
    })
}

/// `POST /logout`: removes the session cookie, then signs out at the provider too when it
/// offers that (it comes back to `/signed-out`).
async fn logout(State(state): State<Arc<AppState>>) -> Result<Response, PageError> {
    let op = provider(&state)?;
    let to = op.logout_url().unwrap_or_else(|| "/signed-out".into());
    Ok(redirect_with(
        &to,
        &[session::clear_cookie(
            SESSION_COOKIE,
            "/",
            state.secure_cookies(),
        )],
    ))
}

fn render(t: &impl Template) -> Result<Html<String>, PageError> {
    t.render()
        .map(Html)
        .map_err(ServiceError::internal)
        .map_err(PageError)
}
