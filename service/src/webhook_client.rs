//! The HTTP client webhook deliveries go out through, with the SSRF guard built in.
//!
//! The guard sits in the DNS resolver, so the address checked is the address connected to: a
//! name that resolves to a public address at creation and to 127.0.0.1 at delivery (DNS
//! rebinding) is refused at delivery. A URL with a literal IP never reaches the resolver, so
//! `check_url` refuses literal internal addresses before any request. Redirects are not
//! followed: a receiver cannot bounce a delivery to an internal address.

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
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            // A name with any internal address is refused whole: picking the public ones
            // would still let a rebinding answer decide which is used next time.
            if let Some(bad) = addrs.iter().find(|a| !allow_private && !is_public(a.ip())) {
                return Err(format!("{host} resolves to an internal address ({}); refused", bad.ip()).into());
            }
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The delivery client: guarded resolver, no redirects, a 15 s timeout, no cookies.
pub fn client(allow_private: bool) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(DELIVERY_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("Overturn-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}
