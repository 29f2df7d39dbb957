//! The webhook client's SSRF guard against real local receivers: literal internal addresses
//! refused before any request, names resolving to internal addresses refused at connect time,
//! redirects never followed; all allowed with `OVERTURN_WEBHOOK_ALLOW_PRIVATE`.

use overturn_service::webhook_client::{UrlError, check_url, client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A receiver on loopback that answers every request with `response` and counts requests.
async fn receiver(response: &'static str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    (port, hits)
}

const OK: &str = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
const REDIRECT: &str =
    "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/metadata\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

#[test]
fn urls_are_checked_before_any_request() {
    assert!(check_url("https://hooks.example.com/overturn", false).is_ok());
    assert_eq!(check_url("ftp://example.com/x", false), Err(UrlError::Scheme));
    assert_eq!(check_url("not a url", false), Err(UrlError::Malformed));
    assert_eq!(check_url("https://user:secret@example.com/", false), Err(UrlError::Credentials));
    for internal in [
        "http://127.0.0.1:8080/",
        "http://10.0.0.5/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:192.168.0.1]/",
        "http://0x7f000001/",
        "http://2130706433/",
    ] {
        assert!(matches!(check_url(internal, false), Err(UrlError::Internal(_))), "{internal}");
        assert!(check_url(internal, true).is_ok(), "{internal} allowed for development");
    }
    assert_eq!(check_url(&format!("https://example.com/{}", "a".repeat(2000)), false), Err(UrlError::TooLong));
}

#[tokio::test]
async fn a_name_resolving_to_an_internal_address_is_refused_at_connect_time() {
    let (port, hits) = receiver(OK).await;
    // `localhost` passes the URL check (it is a name) and resolves to loopback.
    let url = check_url(&format!("http://localhost:{port}/hook"), false).unwrap();
    let refused = client(false, None).unwrap().post(url.clone()).body("{}").send().await;
    let err = refused.expect_err("refused");
    assert!(format!("{err:?}").contains("internal address"), "{err:?}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the receiver");
    let allowed = client(true, None).unwrap().post(url).body("{}").send().await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (port, hits) = receiver(REDIRECT).await;
    let res = client(true, None).unwrap().post(format!("http://127.0.0.1:{port}/hook")).send().await.unwrap();
    assert_eq!(res.status(), 302, "the redirect is the answer, not a new request");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}
