//! The header every page shows: who is signed in, with a way to sign out (or in).

use super::auth::Caller;
use super::state::AppState;
use http::HeaderMap;

/// What the page header shows.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    /// The signed-in person's name, if any.
    pub user: Option<String>,
    /// Show a sign-out button (OpenID sign-in).
    pub sign_out: bool,
    /// Show a sign-in link (OpenID sign-in, nobody signed in).
    pub sign_in: bool,
    /// Demo mode: nobody signs in.
    pub demo: bool,
}

impl Nav {
    /// The header for `caller` (none: nobody is signed in).
    pub fn new(state: &AppState, caller: Option<&Caller>) -> Nav {
        let oidc = state.auth.oidc().is_some();
        if !state.auth.required() {
            return Nav {
                demo: true,
                ..Nav::default()
            };
        }
        Nav {
            user: caller.map(|c| c.shown_name().to_string()),
            sign_out: oidc && caller.is_some(),
            sign_in: oidc && caller.is_none(),
            demo: false,
        }
    }

    /// The header for a request whose page did not authenticate (an error page).
    pub async fn for_request(state: &AppState, headers: &HeaderMap) -> Nav {
        let caller = state.auth.authenticate(headers, state.now()).await.ok();
        Nav::new(state, caller.as_ref())
    }
}
