//! The HTTP client webhook deliveries go out through, with the SSRF guard built in.
//!
//! The guard sits in the DNS resolver, so the address checked is the address connected to: a
//! name that resolves to a public address at creation and to 127.0.0.1 at delivery (DNS
//! rebinding) is refused at delivery. A URL with a literal IP never reaches the resolver, so
//! `check_url` refuses literal internal addresses before any request. Redirects are not
//! followed: a receiver cannot bounce a delivery to an internal address.
//!
//! Proxies are explicit. The client ignores `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY`: a
//! proxy connects to the target itself, so the resolver here would never see the target's
//! address and the guard would not run (every internal name went through a hospital's proxy).
//! A proxy configured for webhooks (`OVERTURN_WEBHOOK_PROXY`) is used for every delivery, and
//! each target is resolved and checked before its request (`resolve_public`); the proxy then
//! resolves it again, so its own egress rules are the last word against DNS rebinding.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use overturn_domain::webhook_address::is_public;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// How long a receiver has to answer a delivery.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("is not a URL")]
    Malformed,
    #[error("must be http or https")]
    Scheme,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("must name a host")]
    NoHost,
    #[error("points to an internal address ({0}); webhooks go to public addresses only")]
    Internal(IpAddr),
    #[error("must be at most 2000 characters")]
    TooLong,
}

/// Checks a webhook URL as far as can be known without DNS.
pub fn check_url(text: &str, allow_private: bool) -> Result<reqwest::Url, UrlError> {
    if text.len() > 2000 {
        return Err(UrlError::TooLong);
    }
    let url = reqwest::Url::parse(text).map_err(|_| UrlError::Malformed)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    let literal = match url.host() {
        None => return Err(UrlError::NoHost),
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
    };
    match literal {
        Some(ip) if !allow_private && !is_public(ip) => Err(UrlError::Internal(ip)),
        _ => Ok(url),
    }
}

/// Resolves names, and refuses those that lead to an internal address.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = lookup_public(&host, allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The addresses of `host`, or why it is refused.
async fn lookup_public(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> =
        tokio::net::lookup_host((host, 0)).await.map_err(|e| format!("{host} could not be resolved: {e}"))?.collect();
    // A name with any internal address is refused whole: picking the public ones would still
    // let a rebinding answer decide which is used next time. The address is not named: the
    // error is shown to whoever manages the contact, and would map the internal network for
    // them one name at a time.
    if addrs.iter().any(|a| !allow_private && !is_public(a.ip())) {
        return Err(format!("{host} resolves to an internal address; refused"));
    }
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    Ok(addrs)
}

/// Checks, before a request through a proxy, that the target's host resolves to public
/// addresses only (a literal address was checked by `check_url`).
pub async fn resolve_public(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    match url.host() {
        Some(url::Host::Domain(host)) => lookup_public(host, allow_private).await.map(|_| ()),
        _ => Ok(()),
    }
}

/// The delivery client: no redirects, a 15 s timeout, no cookies, no proxy from the
/// environment. Without a proxy it connects through the guarded resolver; with one it
/// connects to the proxy only, and the caller checks each target first (`resolve_public`).
pub fn client(allow_private: bool, proxy: Option<&reqwest::Url>) -> reqwest::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DELIVERY_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("Overturn-Webhooks/", env!("CARGO_PKG_VERSION")));
    match proxy {
        // The proxy's own address is configuration, often internal: not the guard's to refuse.
        Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy.clone())?),
        None => builder.dns_resolver(Arc::new(GuardedResolver { allow_private })),
    }
    .build()
}
