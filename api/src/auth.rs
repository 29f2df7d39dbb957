//! Who is calling: `Authorization: Bearer <api key>` or `Bearer ops_<patient session>`,
//! checked against stored hashes, and what the caller may reach.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use overturn_domain::{MemberId, Role};
use overturn_service::{keys, patient_sessions};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller. Extracting it is what makes a route require a key; a route that
/// admits only some roles takes `Allowed<P>` instead.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: Uuid,
    pub role: Role,
    /// The key's name, for audit trails.
    pub name: String,
    /// Set when the caller presented a patient session token: `key_id` and `name` are then
    /// the key that made the session, and `role` is `portal` whatever that key's role is.
    pub session: Option<SessionCaller>,
}

/// A patient session: read-only, bound to one member id.
#[derive(Debug, Clone)]
pub struct SessionCaller {
    pub id: Uuid,
    pub member_id: String,
}

impl Caller {
    /// `Forbidden` for a patient session, which can reach nothing but its patient's routes.
    fn refuse_session(&self) -> Result<(), String> {
        match self.session {
            Some(_) => Err("a patient session reads only its patient's routes under /v1/patients".into()),
            None => Ok(()),
        }
    }
}

/// What a route needs of the caller's role. A route states it once, in its signature, by
/// taking `Allowed<P>` instead of `Caller`; the check runs before the handler does.
pub trait Permission: 'static {
    fn check(caller: &Caller) -> Result<(), String>;
}

/// Managing API keys: admin only.
pub struct ManageKeys;
/// Seeing and retrying failed jobs (whose errors may name any patient's records): admin only.
pub struct ManageJobs;
/// Reading billing data about many patients at once (remittances, the worklists, analytics):
/// not for the portal role, which serves one patient at a time.
pub struct ReadBilling;
/// Changing billing data.
pub struct WriteBilling;

impl Permission for ManageKeys {
    fn check(caller: &Caller) -> Result<(), String> {
        caller.refuse_session()?;
        if caller.role.can_manage_keys() {
            Ok(())
        } else {
            Err(format!("the {} role cannot manage API keys", caller.role.as_str()))
        }
    }
}

impl Permission for ManageJobs {
    fn check(caller: &Caller) -> Result<(), String> {
        caller.refuse_session()?;
        if caller.role.can_manage_keys() {
            Ok(())
        } else {
            Err(format!("the {} role cannot see or retry failed jobs", caller.role.as_str()))
        }
    }
}

impl Permission for ReadBilling {
    fn check(caller: &Caller) -> Result<(), String> {
        caller.refuse_session()?;
        if caller.role.can_write_billing_data() {
            Ok(())
        } else {
            Err(format!(
                "the {} role reaches one patient at a time, through /v1/patients/{{member_id}}/…",
                caller.role.as_str()
            ))
        }
    }
}

impl Permission for WriteBilling {
    fn check(caller: &Caller) -> Result<(), String> {
        caller.refuse_session()?;
        if caller.role.can_write_billing_data() {
            Ok(())
        } else {
            Err(format!("the {} role cannot change billing data", caller.role.as_str()))
        }
    }
}

/// An authenticated caller whose role has permission `P` (403 otherwise).
pub struct Allowed<P: Permission> {
    pub caller: Caller,
    permission: std::marker::PhantomData<P>,
}

impl<P: Permission> std::ops::Deref for Allowed<P> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<P: Permission> FromRequest for Allowed<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            P::check(&caller).map_err(ApiError::Forbidden)?;
            Ok(Self { caller, permission: std::marker::PhantomData })
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let request = req.clone();
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))?;
            let presented = presented.filter(|k| !k.is_empty()).ok_or(ApiError::Unauthorized)?;
            // Look up by hash only: the tables never hold a key or token, and a revoked key or
            // ended session stops working on the next request because nothing is cached.
            let caller = if presented.starts_with(patient_sessions::TOKEN_PREFIX) {
                let now = overturn_service::sql::now();
                let (session, key) = patient_sessions::find_live(&state.db.read, &presented, now)
                    .await?
                    .ok_or(ApiError::Unauthorized)?;
                Caller {
                    key_id: key.id,
                    role: Role::Portal,
                    name: key.name,
                    session: Some(SessionCaller { id: session.id, member_id: session.member_id }),
                }
            } else {
                let found = keys::find_live(&state.db.read, &presented).await?.ok_or(ApiError::Unauthorized)?;
                let role = Role::parse(&found.role)
                    .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown role stored for key {}", found.id)))?;
                Caller { key_id: found.id, role, name: found.name, session: None }
            };
            // For the audit trail, which names who read or changed patient data.
            actix_web::HttpMessage::extensions_mut(&request).insert(caller.clone());
            Ok(caller)
        })
    }
}

/// What a patient route does with the patient's data.
pub trait PatientAccess: 'static {
    /// Whether a patient session (read-only) may do it.
    const SESSIONS: bool;
}

/// Reading one patient's claims, balance, denials, contacts and deliveries.
pub struct ReadPatient;
/// Changing one patient's contacts, or starting a session for them: keys only.
pub struct WritePatient;

impl PatientAccess for ReadPatient {
    const SESSIONS: bool = true;
}

impl PatientAccess for WritePatient {
    const SESSIONS: bool = false;
}

/// A caller acting for the patient `member_id` of the path (`/v1/patients/{member_id}/…`).
/// Every role may; a patient session only for its own member (another is 404, as if absent)
/// and only to read.
pub struct ForPatient<A: PatientAccess> {
    pub caller: Caller,
    pub member_id: String,
    access: std::marker::PhantomData<A>,
}

impl<A: PatientAccess> std::ops::Deref for ForPatient<A> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<A: PatientAccess> FromRequest for ForPatient<A> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let path = req.match_info().get("member_id").map(str::to_owned);
        Box::pin(async move {
            let caller = caller.await?;
            let path = path.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a patient route without member_id")))?;
            let missing = || ApiError::NotFound(format!("no patient {path:?}"));
            let member_id = MemberId::parse(&path).map_err(|_| missing())?.as_str().to_owned();
            if let Some(session) = &caller.session {
                if session.member_id != member_id {
                    return Err(missing());
                }
                if !A::SESSIONS {
                    return Err(ApiError::Forbidden("a patient session can read but not change anything".into()));
                }
            }
            Ok(Self { caller, member_id, access: std::marker::PhantomData })
        })
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is case-insensitive and
/// followed by one or more spaces (RFC 9110, section 11.4).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_is_case_insensitive() {
        for value in ["Bearer ovt_k", "bearer ovt_k", "BEARER ovt_k", "bEaReR   ovt_k "] {
            assert_eq!(bearer_token(value), Some("ovt_k"), "{value}");
        }
        for value in ["Basic ovt_k", "Bearer", "Bearer ", "Bearerovt_k", "ovt_k", "Bearer\tovt_k"] {
            assert_eq!(bearer_token(value), None, "{value}");
        }
    }
}
