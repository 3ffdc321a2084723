//! The board's routes and pages.
//!
//! The rule every handler follows: without a live session a GET is redirected to `/login`
//! (303) and anything else is refused with 401; a POST also needs the session's CSRF token
//! (403 without it). Changes answer with a redirect to the page they came from (POST,
//! redirect, GET: a reload does not repeat them); a refused change (unknown engineer, a
//! cancelled job, wrong confirmation) renders an error page naming the reason. Every value is
//! rendered by `minijinja` with HTML escaping on.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State as Extract};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Environment, context};
use serde::Deserialize;
use tokio::sync::Notify;

use super::auth::{self, Login, Session, Sessions};
use crate::{HubError, HubStore};

const TEMPLATES: [(&str, &str); 6] = [
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("jobs.html", include_str!("templates/jobs.html")),
    ("parked.html", include_str!("templates/parked.html")),
    ("devices.html", include_str!("templates/devices.html")),
    ("error.html", include_str!("templates/error.html")),
];

/// No scripts at all, styles only inline, forms only to ourselves, never framed.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

pub(crate) struct State {
    store: HubStore,
    wake: Arc<Notify>,
    sessions: Sessions,
    templates: Environment<'static>,
}

impl State {
    pub(crate) fn new(
        store: HubStore,
        wake: Arc<Notify>,
        sessions: Sessions,
    ) -> Result<State, HubError> {
        let mut templates = Environment::new();
        for (name, source) in TEMPLATES {
            templates
                .add_template(name, source)
                .map_err(|e| HubError::Invalid {
                    field: "board template",
                    reason: e.to_string(),
                })?;
        }
        Ok(State {
            store,
            wake,
            sessions,
            templates,
        })
    }

    fn render(&self, status: StatusCode, name: &str, values: minijinja::Value) -> Response {
        match self
            .templates
            .get_template(name)
            .and_then(|t| t.render(values))
        {
            Ok(html) => finish(
                status,
                [(CONTENT_TYPE, "text/html; charset=utf-8".to_owned())],
                html,
            ),
            Err(e) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the board could not draw {name}: {e}"),
            ),
        }
    }

    fn error_page(&self, status: StatusCode, session: &Session, message: String) -> Response {
        self.render(
            status,
            "error.html",
            context! { csrf => session.csrf.clone(), message => message },
        )
    }

    fn hub_error(&self, session: &Session, error: HubError) -> Response {
        let status = match error {
            HubError::UnknownEngineer(_)
            | HubError::UnknownJob(_)
            | HubError::UnknownDevice(_)
            | HubError::NotAssignable { .. }
            | HubError::Invalid { .. } => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        self.error_page(status, session, error.to_string())
    }

    /// A list page: `read` (its rows, as template values) drawn into `page`.html beside the
    /// session's CSRF token and the page's name (for the menu), or the reason it could not
    /// be read.
    fn page(
        &self,
        session: &Session,
        page: &str,
        read: Result<minijinja::Value, HubError>,
    ) -> Response {
        match read {
            Ok(values) => self.render(
                StatusCode::OK,
                &format!("{page}.html"),
                context! { csrf => session.csrf.clone(), page => page, ..values },
            ),
            Err(e) => self.hub_error(session, e),
        }
    }

    /// The answer to a change: back to `page` when it was made, the reason when refused.
    fn changed<T>(&self, session: &Session, result: Result<T, HubError>, page: &str) -> Response {
        match result {
            Ok(_) => see_other(page),
            Err(e) => self.hub_error(session, e),
        }
    }
}

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/jobs", get(jobs))
        .route("/jobs/assign", post(assign))
        .route("/parked", get(parked))
        .route("/parked/resend", post(resend))
        .route("/parked/discard", post(discard))
        .route("/devices", get(devices))
        .route("/devices/revoke", post(revoke))
        .fallback(not_found)
        .with_state(state)
}

type Shared = Extract<Arc<State>>;
/// What a handler behind the session check answers: its page, or the refusal.
type Answer = Result<Response, Refusal>;

/// Every answer: not cached, no sniffing, no referrer, the CSP above.
fn finish<const N: usize>(
    status: StatusCode,
    headers: [(axum::http::HeaderName, String); N],
    body: String,
) -> Response {
    let mut response = (status, body).into_response();
    let map = response.headers_mut();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(name, value);
        }
    }
    map.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    map.insert("content-security-policy", HeaderValue::from_static(CSP));
    map.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    map.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    map.insert("x-frame-options", HeaderValue::from_static("DENY"));
    response
}

fn plain(status: StatusCode, text: String) -> Response {
    finish(
        status,
        [(CONTENT_TYPE, "text/plain; charset=utf-8".to_owned())],
        text,
    )
}

fn see_other(to: &str) -> Response {
    finish(
        StatusCode::SEE_OTHER,
        [(LOCATION, to.to_owned())],
        String::new(),
    )
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers.get(COOKIE).and_then(|v| v.to_str().ok())
}

/// Why a request gets no further than the session check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// A GET without a session: to the login page.
    Login,
    /// A change without a session: 401.
    NoSession,
    /// A change without the session's CSRF token: 403.
    NoCsrf,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Login => see_other("/login"),
            Refusal::NoSession => {
                plain(StatusCode::UNAUTHORIZED, "log in to the board first".into())
            }
            Refusal::NoCsrf => plain(
                StatusCode::FORBIDDEN,
                "this form carries no valid CSRF token: reload the page and try again".into(),
            ),
        }
    }
}

/// The session of a GET, or the redirect to the login page.
fn viewer(state: &State, headers: &HeaderMap) -> Result<Session, Refusal> {
    state
        .sessions
        .session(cookie(headers))
        .ok_or(Refusal::Login)
}

/// The session of a change: 401 without one, 403 without its CSRF token.
fn actor(state: &State, headers: &HeaderMap, csrf: Option<&str>) -> Result<Session, Refusal> {
    let session = state
        .sessions
        .session(cookie(headers))
        .ok_or(Refusal::NoSession)?;
    match csrf {
        Some(given) if auth::same(given, &session.csrf) => Ok(session),
        _ => Err(Refusal::NoCsrf),
    }
}

async fn root(Extract(state): Shared, headers: HeaderMap) -> Answer {
    viewer(&state, &headers)?;
    Ok(see_other("/jobs"))
}

async fn not_found(Extract(state): Shared, method: Method, headers: HeaderMap) -> Response {
    let refused = if method == Method::GET || method == Method::HEAD {
        viewer(&state, &headers).err()
    } else {
        // A session without a form's token still only learns "no such page".
        match actor(&state, &headers, None) {
            Err(Refusal::NoSession) => Some(Refusal::NoSession),
            _ => None,
        }
    };
    match refused {
        Some(refused) => refused.into_response(),
        None => plain(StatusCode::NOT_FOUND, "no such page".into()),
    }
}

async fn login_page(Extract(state): Shared) -> Response {
    state.render(StatusCode::OK, "login.html", context! {})
}

#[derive(Debug, Default, Deserialize)]
struct LoginForm {
    token: Option<String>,
}

async fn login(Extract(state): Shared, form: Result<Form<LoginForm>, FormRejection>) -> Response {
    let given = form.ok().and_then(|Form(f)| f.token).unwrap_or_default();
    match state.sessions.login(&given) {
        Ok(Login::Granted(id)) => finish(
            StatusCode::SEE_OTHER,
            [
                (LOCATION, "/jobs".to_owned()),
                (SET_COOKIE, auth::session_cookie(&id)),
            ],
            String::new(),
        ),
        Ok(Login::Refused) => {
            tokio::time::sleep(auth::FAILED_LOGIN_DELAY).await;
            state.render(
                StatusCode::UNAUTHORIZED,
                "login.html",
                context! { error => "That is not the board token." },
            )
        }
        Ok(Login::Throttled) => {
            tokio::time::sleep(auth::FAILED_LOGIN_DELAY).await;
            state.render(
                StatusCode::TOO_MANY_REQUESTS,
                "login.html",
                context! { error => "Too many failed logins: wait a minute." },
            )
        }
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct CsrfOnly {
    csrf: Option<String>,
}

async fn logout(
    Extract(state): Shared,
    headers: HeaderMap,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Answer {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    actor(&state, &headers, form.csrf.as_deref())?;
    state.sessions.logout(cookie(&headers));
    Ok(finish(
        StatusCode::SEE_OTHER,
        [
            (LOCATION, "/login".to_owned()),
            (SET_COOKIE, auth::expired_cookie()),
        ],
        String::new(),
    ))
}

async fn jobs(Extract(state): Shared, headers: HeaderMap) -> Answer {
    let session = viewer(&state, &headers)?;
    let read = state.store.board().and_then(|jobs| {
        let engineers = state.store.engineers()?;
        Ok(context! { jobs => jobs, engineers => engineers })
    });
    Ok(state.page(&session, "jobs", read))
}

#[derive(Debug, Default, Deserialize)]
struct AssignForm {
    csrf: Option<String>,
    job: Option<String>,
    engineer: Option<String>,
}

async fn assign(
    Extract(state): Shared,
    headers: HeaderMap,
    form: Result<Form<AssignForm>, FormRejection>,
) -> Answer {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let session = actor(&state, &headers, form.csrf.as_deref())?;
    let (Some(job), Some(engineer)) = (form.job, form.engineer) else {
        return Ok(state.error_page(
            StatusCode::BAD_REQUEST,
            &session,
            "choose a job and an engineer".into(),
        ));
    };
    let assigned = state.store.assign(&job, &engineer);
    Ok(state.changed(
        &session,
        assigned.inspect(|_| state.wake.notify_one()),
        "/jobs",
    ))
}

/// A parked outbox item as the page shows it.
#[derive(Debug, serde::Serialize)]
struct ParkedView {
    seq: i64,
    job_ref: String,
    label: String,
    reason: String,
    key: String,
    attempts: u32,
}

async fn parked(Extract(state): Shared, headers: HeaderMap) -> Answer {
    let session = viewer(&state, &headers)?;
    let read = state.store.parked().map(|items| {
        let items: Vec<ParkedView> = items
            .into_iter()
            .map(|i| ParkedView {
                seq: i.seq,
                job_ref: i.job_ref,
                label: i.label,
                reason: i.parked_reason.unwrap_or_default(),
                key: i.idempotency_key,
                attempts: i.attempts,
            })
            .collect();
        context! { items => items }
    });
    Ok(state.page(&session, "parked", read))
}

#[derive(Debug, Default, Deserialize)]
struct ItemForm {
    csrf: Option<String>,
    seq: Option<i64>,
    key: Option<String>,
    confirm: Option<String>,
}

async fn resend(
    Extract(state): Shared,
    headers: HeaderMap,
    form: Result<Form<ItemForm>, FormRejection>,
) -> Answer {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let session = actor(&state, &headers, form.csrf.as_deref())?;
    let Some(seq) = form.seq else {
        return Ok(state.error_page(StatusCode::BAD_REQUEST, &session, "no item".into()));
    };
    let resent = state.store.resend(seq);
    Ok(state.changed(
        &session,
        resent.inspect(|_| state.wake.notify_one()),
        "/parked",
    ))
}

async fn discard(
    Extract(state): Shared,
    headers: HeaderMap,
    form: Result<Form<ItemForm>, FormRejection>,
) -> Answer {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let session = actor(&state, &headers, form.csrf.as_deref())?;
    let (Some(seq), Some(key), Some("yes")) = (form.seq, form.key, form.confirm.as_deref()) else {
        return Ok(state.error_page(
            StatusCode::BAD_REQUEST,
            &session,
            "tick \u{201c}discard for good\u{201d} to discard an item".into(),
        ));
    };
    let discarded = state.store.discard(seq, &key);
    Ok(state.changed(
        &session,
        discarded.inspect(|_| state.wake.notify_one()),
        "/parked",
    ))
}

/// A device as the page shows it.
#[derive(Debug, serde::Serialize)]
struct DeviceView {
    device_id: String,
    engineer_id: Option<String>,
    role: String,
    issued_at: String,
    revoked_at: Option<String>,
}

async fn devices(Extract(state): Shared, headers: HeaderMap) -> Answer {
    let session = viewer(&state, &headers)?;
    let read = state.store.devices().map(|rows| {
        let devices: Vec<DeviceView> = rows
            .into_iter()
            .map(|d| DeviceView {
                device_id: d.device_id,
                engineer_id: d.engineer_id,
                role: d.role,
                issued_at: d.issued_at.to_rfc3339(),
                revoked_at: d.revoked_at.map(|t| t.to_rfc3339()),
            })
            .collect();
        context! { devices => devices }
    });
    Ok(state.page(&session, "devices", read))
}

#[derive(Debug, Default, Deserialize)]
struct RevokeForm {
    csrf: Option<String>,
    device: Option<String>,
}

async fn revoke(
    Extract(state): Shared,
    headers: HeaderMap,
    form: Result<Form<RevokeForm>, FormRejection>,
) -> Answer {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    let session = actor(&state, &headers, form.csrf.as_deref())?;
    let Some(device) = form.device else {
        return Ok(state.error_page(StatusCode::BAD_REQUEST, &session, "no device".into()));
    };
    Ok(state.changed(&session, state.store.revoke_device(&device), "/devices"))
}
