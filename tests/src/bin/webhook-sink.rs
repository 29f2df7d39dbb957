//! A fast webhook receiver for the delivery benchmark (`bench/webhooks.py`): answers every
//! request 200 over keep-alive HTTP/1.1 and prints one line per request to stdout,
//! `<arrival, unix nanoseconds> <webhook-id>`.
//!
//!   target/release/webhook-sink 127.0.0.1:19090 > arrivals.txt

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:19090".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        while let Ok(line) = rx.recv() {
            let _ = writeln!(out, "{line}");
            // Flush whenever the backlog is drained, so the file is current when idle.
            while let Ok(more) = rx.try_recv() {
                let _ = writeln!(out, "{more}");
            }
            let _ = out.flush();
        }
    });
    loop {
        let (socket, _) = listener.accept().await?;
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = serve(socket, tx).await;
        });
    }
}

async fn serve(socket: tokio::net::TcpStream, tx: std::sync::mpsc::Sender<String>) -> std::io::Result<()> {
    let mut reader = BufReader::new(socket);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let (mut length, mut id) = (0usize, String::new());
        loop {
            line.clear();
            reader.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                if name == "content-length" {
                    length = value.trim().parse().unwrap_or(0);
                } else if name == "webhook-id" {
                    id = value.trim().to_owned();
                }
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).await?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let _ = tx.send(format!("{now} {id}"));
        reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await?;
    }
}
